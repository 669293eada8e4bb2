//go:build !unix

package main

import "log/slog"

// reloadOnHangup does nothing where there is no SIGHUP (Windows): restart the service instead.
func reloadOnHangup(*slog.Logger, func() []any) (stop func()) { return func() {} }
