package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped by make build (-ldflags -X); a plain go build leaves them empty,
// and the commit then comes from the build's VCS information where Go recorded it.
var (
	version string
	commit  string
)

// buildVersion is mirrord's version, "dev" when it was not stamped.
func buildVersion() string {
	if version != "" {
		return version
	}
	return "dev"
}

// buildCommit is the commit mirrord was built from, or "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// buildName is what AuthenticateResponse's SuperOfficeMirroringBuild answers.
func buildName() string { return "mirrord " + buildVersion() }

func printVersion() {
	fmt.Printf("mirrord %s (commit %s, %s, %s/%s)\n", buildVersion(), buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
