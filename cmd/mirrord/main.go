// Command mirrord receives SuperOffice Database Mirroring calls and keeps one mirror database per tenant.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

const usage = `mirrord keeps one mirror database per SuperOffice tenant equal to the source.

Usage:
  mirrord serve      [flags]   serve the mirroring endpoint
  mirrord keygen     [flags]   write a partner key pair and a test SuperOffice certificate
  mirrord status     [flags]   per tenant and table: LSN, schema hash, rows, last change
  mirrord invalidate [flags]   set LSNs to -1 so that the next cycle repopulates
  mirrord check      [flags]   check, with serve's flags, everything a first call needs
  mirrord version              print the version, the commit and the Go version

Every flag has an environment equivalent: --max-body is MIRRORD_MAX_BODY. --config FILE
reads serve's settings from a TOML file; a flag wins over its variable, which wins over the file.
Run "mirrord <command> -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serve(ctx, args)
	case "keygen":
		err = keygen(args)
	case "status":
		err = status(ctx, args)
	case "invalidate":
		err = invalidate(ctx, args)
	case "check":
		err = check(ctx, args, os.Stdout)
	case "version", "--version":
		printVersion()
		return
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "mirrord: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirrord:", err)
		os.Exit(1)
	}
}

// repeatableFlag is a flag that may be given more than once: a config file gives it an array,
// and --print-config prints one.
type repeatableFlag interface {
	flag.Value
	Values() []string
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string   { return strings.Join(*l, ",") }
func (l *listFlag) Values() []string { return *l }
func (l *listFlag) Set(v string) error {
	if v != "" {
		*l = append(*l, v)
	}
	return nil
}

// sizeFlag is a byte count that accepts KiB, MiB and GiB suffixes.
type sizeFlag int64

func (s *sizeFlag) String() string { return formatSize(int64(*s)) }
func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

func parseSize(given string) (int64, error) {
	v := strings.TrimSpace(given)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 || fmt.Sprint(n) != v {
		return 0, fmt.Errorf("size %q is not a positive whole number of bytes, KiB, MiB or GiB", given)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", given)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprint(n)
}
