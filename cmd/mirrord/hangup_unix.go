//go:build unix

package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// reloadOnHangup runs reload at each SIGHUP, the signal `systemctl reload` sends, and logs what
// it reloaded. The returned func stops listening.
func reloadOnHangup(log *slog.Logger, reload func() []any) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				log.Info("reloaded on SIGHUP", reload()...)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
