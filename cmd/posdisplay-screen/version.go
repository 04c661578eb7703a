package main

// version is the screen's version, set at build time with
// -ldflags "-X main.version=1.2.3" (make build and packaging/build-debs.sh
// do); the agent's is register/agent.Version, which this binary does not link.
var version = "dev"
