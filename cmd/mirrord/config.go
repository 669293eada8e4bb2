package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/mirrord/mirrord/bulk/target"
)

// A --config file is TOML: one key per flag of `mirrord serve`, named as the flag without its
// dashes, with a string, number, boolean or, for a repeatable flag, an array. TOML because it has
// comments, needs no indentation, and says "30s" and 64 apart.
//
//	app-id = "a6bb4f2c"
//	target = "postgres://mirrord@db/postgres"
//	max-applies = 32
//	pause = ["Cust1", "Cust2"]
//
// A command line flag wins over its environment variable, which wins over the file.

// Where a flag's value came from, for --print-config.
const (
	fromDefault = "default"
	fromFlag    = "flag"
	fromFile    = "config file"
)

// origins says where each flag's value came from: fromFlag, fromFile, fromDefault or the name of
// its environment variable.
type origins map[string]string

// parseFlags parses args, then gives every flag not set on the command line the value of its
// environment variable MIRRORD_<NAME>, if set, and then the value of the --config file, if one is
// named. A repeatable flag takes a comma-separated list from the environment, an array from the
// file.
func parseFlags(fs *flag.FlagSet, args []string) error {
	_, err := parseFlagsFrom(fs, args)
	return err
}

// parseFlagsFrom is parseFlags, also saying where each value came from.
func parseFlagsFrom(fs *flag.FlagSet, args []string) (origins, error) {
	if fs.Name() != "keygen" && fs.Lookup("config") == nil {
		fs.String("config", "", "a TOML file of settings: serve's flags without their dashes (flags and MIRRORD_* win over it)")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	from := origins{}
	fs.VisitAll(func(f *flag.Flag) { from[f.Name] = fromDefault })
	fs.Visit(func(f *flag.Flag) { from[f.Name] = fromFlag })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if from[f.Name] != fromDefault || err != nil {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		values := []string{v}
		if _, repeatable := f.Value.(*listFlag); repeatable {
			values = strings.Split(v, ",")
		}
		for _, one := range values {
			if e := f.Value.Set(strings.TrimSpace(one)); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
				return
			}
		}
		from[f.Name] = name
	})
	if err != nil {
		return nil, err
	}
	if c := fs.Lookup("config"); c != nil && c.Value.String() != "" {
		if err := applyConfig(fs, c.Value.String(), from); err != nil {
			return nil, err
		}
	}
	return from, nil
}

func envName(flagName string) string {
	return "MIRRORD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configKeys are the settings a config file may hold: the flags of serve.
func configKeys() map[string]bool {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	keys := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { keys[f.Name] = true })
	return keys
}

// applyConfig sets, from the TOML file at path, every flag of fs still at its default. A key
// that is no setting of serve is an error; one that is, but not of this command, is left alone.
func applyConfig(fs *flag.FlagSet, path string, from origins) error {
	var settings map[string]any
	if _, err := toml.DecodeFile(path, &settings); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	known := configKeys()
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !known[key] || key == "config" || key == "print-config" {
			return fmt.Errorf("--config %s: %q is not a setting (the settings are the flags of `mirrord serve -h`, without their dashes)", path, key)
		}
		f := fs.Lookup(key)
		if f == nil || from[key] != fromDefault {
			continue
		}
		values, err := configValues(settings[key], f)
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, key, err)
		}
		for _, v := range values {
			if err := f.Value.Set(v); err != nil {
				return fmt.Errorf("--config %s: %s = %q: %w", path, key, v, err)
			}
		}
		from[key] = fromFile
	}
	return nil
}

// configValues turns a TOML value into the strings Set takes.
func configValues(v any, f *flag.Flag) ([]string, error) {
	_, repeatable := f.Value.(repeatableFlag)
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case int64:
		return []string{strconv.FormatInt(x, 10)}, nil
	case bool:
		return []string{strconv.FormatBool(x)}, nil
	case []any:
		if !repeatable {
			return nil, fmt.Errorf("takes one value, not an array")
		}
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("an array of strings, not of %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("a string, integer, boolean or array, not %T", v)
}

// printConfig writes the effective settings of fs as a config file, each with where it came
// from. Secrets are masked: a DSN's password and parameters such as password, and any setting
// named as a secret.
func printConfig(w io.Writer, fs *flag.FlagSet, from origins) error {
	fmt.Fprintf(w, "# mirrord %s's effective settings: a flag wins over MIRRORD_*, which wins over --config.\n", fs.Name())
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || f.Name == "print-config" || err != nil {
			return
		}
		value := configValue(f)
		_, err = fmt.Fprintf(w, "%s = %s  # %s\n", f.Name, value, from[f.Name])
	})
	return err
}

// configValue is f's value as TOML, masked where it may hold a secret.
func configValue(f *flag.Flag) string {
	secret := strings.Contains(f.Name, "secret") || strings.Contains(f.Name, "password")
	mask := func(s string) string {
		switch {
		case secret && s != "":
			return "********"
		case f.Name == "target" || strings.Contains(f.Name, "dsn") || strings.Contains(f.Name, "webhook"):
			return target.Redact(s)
		case f.Name == "route":
			// "PATTERN TARGET [DB-NAME-TEMPLATE]": the target is a DSN.
			if fields := strings.Fields(s); len(fields) >= 2 {
				fields[1] = target.Redact(fields[1])
				return strings.Join(fields, " ")
			}
		}
		return s
	}
	switch v := f.Value.(type) {
	case repeatableFlag:
		values := v.Values()
		parts := make([]string, len(values))
		for i, s := range values {
			parts[i] = tomlString(mask(s))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *sizeFlag:
		return tomlString(v.String())
	case flag.Getter:
		switch x := v.Get().(type) {
		case bool:
			return strconv.FormatBool(x)
		case int, int64, uint, uint64, int32:
			return fmt.Sprint(x)
		case time.Duration:
			return tomlString(x.String())
		}
	}
	return tomlString(mask(f.Value.String()))
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
