package agent

// health is the agent's overall state for /healthz: "ok", or "degraded"
// with a reason while something the customer cannot see is wrong (carts not
// reaching the disk, so a restart would restore an older one).
func (a *Agent) health() (status, reason string) {
	if err := a.store.Health(); err != nil {
		return "degraded", "saving carts fails: " + err.Error()
	}
	return "ok", ""
}
