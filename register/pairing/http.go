package pairing

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"github.com/posdisplay/posdisplay/register/pairing/pairwire"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Wire types of the screen-facing pairing endpoints live in pairwire,
// which the screen imports too; these aliases keep the server's code short.
type (
	OpenRequest   = pairwire.OpenRequest
	OpenResponse  = pairwire.OpenResponse
	PollResponse  = pairwire.PollResponse
	ErrorResponse = pairwire.ErrorResponse
)

// Wire types of the admin endpoints (local POS listener), used by the
// agent's own CLI; documented in docs/protocol.md with the pairing
// protocol.
type (
	// ApproveRequest is POSTed by the CLI to /v1/admin/pair.
	ApproveRequest struct {
		Code     string `json:"code"`
		Register string `json:"register,omitempty"`
	}
	// AddRequest provisions a display without a screen (web displays).
	AddRequest struct {
		Name     string `json:"name"`
		Register string `json:"register"`
	}
	// AddResponse returns the new display and its token, once.
	AddResponse struct {
		Display Display `json:"display"`
		Token   string  `json:"token"`
	}
	// ApproveResponse is the answer to /v1/admin/pair: the new display,
	// and the earlier entries of the same screen it replaced.
	ApproveResponse struct {
		Display
		Replaced []Display `json:"replaced,omitempty"`
	}
	// DisplayStatus is a display as the admin endpoints list, revoke or
	// forget it: its registry entry, and whether it is connected now (the
	// hub's view, not a saved one).
	DisplayStatus struct {
		Display
		Connected      bool      `json:"connected"`
		ConnectedSince time.Time `json:"connected_since,omitzero"`
	}
)

// Connection is one live display connection, as the hub reports it.
type Connection struct {
	DisplayID string
	Addr      string // the display's IP address
	Since     time.Time
}

// Server serves the pairing endpoints.
type Server struct {
	Pairer      *Pairer
	Registry    *Registry
	AgentID     string
	Fingerprint string
	AdminToken  string
	// Revoked is called after a display was revoked or replaced: it
	// disconnects it and returns how many connections it closed.
	Revoked func(displayID string) int
	// Connections lists the live display connections (the hub's); nil
	// means none.
	Connections func() []Connection
	Log         *slog.Logger
}

const maxBody = 4096

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	reply(w, status, ErrorResponse{Code: code, Message: msg})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, pairwire.CodeBadJSON, "body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// MountPublic adds the screen-facing endpoints (display listener).
func (s *Server) MountPublic(mux *http.ServeMux) {
	mux.HandleFunc("POST "+pairwire.PathOpen, s.open)
	mux.HandleFunc("GET "+pairwire.PathPoll+"{id}", s.poll)
}

// MountAdmin adds the store-IT endpoints (local POS listener). Every call
// needs the admin token; requests from web pages (with an Origin header)
// are refused outright.
func (s *Server) MountAdmin(mux *http.ServeMux) {
	mux.Handle("POST /v1/admin/pair", s.admin(s.approve))
	mux.Handle("GET /v1/admin/pair", s.admin(s.pending))
	mux.Handle("GET /v1/admin/displays", s.admin(s.list))
	mux.Handle("POST /v1/admin/displays", s.admin(s.add))
	mux.Handle("DELETE /v1/admin/displays/{id}", s.admin(s.revoke))
	mux.Handle("POST /v1/admin/displays/{id}/forget", s.admin(s.forget))
}

func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			fail(w, http.StatusForbidden, pairwire.CodeForbiddenOrigin, "the admin endpoint is not for web pages")
			return
		}
		if t := bearer(r); t == "" || subtle.ConstantTimeCompare([]byte(t), []byte(s.AdminToken)) != 1 {
			fail(w, http.StatusUnauthorized, pairwire.CodeUnauthorized, "admin token missing or wrong (run the command as root or as the posdisplay user)")
			return
		}
		h(w, r)
	})
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	var req OpenRequest
	if !decode(w, r, &req) {
		return
	}
	p, err := s.Pairer.Open(Screen{Name: req.Name, Key: req.Key}, remoteIP(r))
	switch {
	case errors.Is(err, ErrTooMany):
		fail(w, http.StatusTooManyRequests, pairwire.CodeTooMany, err.Error())
		return
	case err != nil:
		fail(w, http.StatusBadRequest, pairwire.CodeBadRequest, err.Error())
		return
	}
	s.Log.Info("pairing requested", "name", req.Name, "remote", remoteIP(r), "keyed", req.Key != "")
	reply(w, http.StatusCreated, OpenResponse{Request: p.ID, Secret: p.Secret, Code: p.Code,
		ExpiresIn: int(p.Expires.Sub(s.Pairer.now()).Seconds()), Agent: s.AgentID, Fingerprint: s.Fingerprint, Pairing: pairwire.Version})
}

func (s *Server) poll(w http.ResponseWriter, r *http.Request) {
	res, err := s.Pairer.Poll(r.PathValue("id"), bearer(r))
	if err != nil {
		fail(w, http.StatusNotFound, pairwire.CodeExpired, "unknown or expired pairing request: start again")
		return
	}
	if res == nil {
		reply(w, http.StatusOK, PollResponse{Status: pairwire.StatusPending})
		return
	}
	reply(w, http.StatusOK, PollResponse{Status: pairwire.StatusApproved, Display: res.DisplayID, Register: res.Register,
		Token: res.Token, Agent: s.AgentID, Fingerprint: s.Fingerprint})
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	var req ApproveRequest
	if !decode(w, r, &req) {
		return
	}
	d, err := s.Pairer.Approve(req.Code, req.Register)
	switch {
	case errors.Is(err, ErrLockedOut):
		s.Log.Warn("pairing approval locked out after wrong codes")
		fail(w, http.StatusTooManyRequests, pairwire.CodeLockedOut, err.Error())
	case errors.As(err, new(*AlreadyPairedError)):
		fail(w, http.StatusConflict, pairwire.CodeAlreadyPaired, err.Error())
	case errors.Is(err, ErrStaleCode):
		s.Log.Info("pairing approval for a screen that stopped waiting (restarted?)")
		fail(w, http.StatusConflict, pairwire.CodeStaleCode, "that screen has restarted or stopped; its new code is on screen: run pair again with that one")
	case errors.Is(err, ErrBadCode):
		s.Log.Warn("pairing approval with a wrong code")
		fail(w, http.StatusNotFound, pairwire.CodeBadCode, "no screen shows this code (check it, or it expired)")
	case err != nil:
		fail(w, http.StatusBadRequest, pairwire.CodeBadRequest, err.Error())
	default:
		for _, old := range d.Replaced {
			s.revoked(old.ID)
			s.Log.Info("display replaced: the same screen paired again", "display", old.ID, "by", d.ID, "name", old.Name, "register", old.Register)
		}
		s.Log.Info("display paired", "display", d.ID, "name", d.Name, "register", d.Register)
		reply(w, http.StatusOK, ApproveResponse(d))
	}
}

// revoked disconnects a display that is no longer paired; it returns how
// many connections were closed.
func (s *Server) revoked(id string) int {
	if s.Revoked == nil {
		return 0
	}
	return s.Revoked(id)
}

// connections returns the live connections by display id (the latest
// one when a display has several).
func (s *Server) connections() map[string]Connection {
	out := map[string]Connection{}
	if s.Connections == nil {
		return out
	}
	for _, c := range s.Connections() {
		if old, ok := out[c.DisplayID]; !ok || c.Since.After(old.Since) {
			out[c.DisplayID] = c
		}
	}
	return out
}

// status is d with its live state.
func status(d Display, live map[string]Connection) DisplayStatus {
	st := DisplayStatus{Display: d}
	if c, ok := live[d.ID]; ok {
		st.Connected, st.ConnectedSince = true, c.Since.UTC().Truncate(time.Second)
		if c.Addr != "" {
			st.Addr = c.Addr
		}
	}
	return st
}

func (s *Server) pending(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Pairer.Pending())
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	live := s.connections()
	out := []DisplayStatus{}
	for _, d := range s.Registry.List() {
		out = append(out, status(d, live))
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	var req AddRequest
	if !decode(w, r, &req) {
		return
	}
	d, token, err := s.Registry.Add(req.Name, req.Register, "provisioned")
	if err != nil {
		fail(w, http.StatusBadRequest, pairwire.CodeBadRequest, err.Error())
		return
	}
	s.Log.Info("display provisioned", "display", d.ID, "name", d.Name, "register", d.Register)
	reply(w, http.StatusCreated, AddResponse{Display: d, Token: token})
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	d, err := s.Registry.Revoke(r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		fail(w, http.StatusNotFound, pairwire.CodeNotFound, "no display with this id (see `posdisplay-agent displays list`)")
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, pairwire.CodeInternal, err.Error())
		return
	}
	closed := s.revoked(d.ID)
	s.Log.Info("display revoked", "display", d.ID, "name", d.Name, "register", d.Register, "connections_closed", closed)
	st := DisplayStatus{Display: d, Connected: closed > 0}
	reply(w, http.StatusOK, st)
}

// forget removes the entry of a display that is gone (not connected):
// the same as revoking it, but refused for a connected display, so that
// cleaning up the list never cuts a screen off by a mistyped id.
func (s *Server) forget(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if c, ok := s.connections()[id]; ok {
		fail(w, http.StatusConflict, pairwire.CodeConnected, "this display is connected now (from "+c.Addr+"): use `posdisplay-agent displays revoke "+id+"` to cut it off")
		return
	}
	d, err := s.Registry.Revoke(id)
	if errors.Is(err, ErrNotFound) {
		fail(w, http.StatusNotFound, pairwire.CodeNotFound, "no display with this id (see `posdisplay-agent displays list`)")
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, pairwire.CodeInternal, err.Error())
		return
	}
	// It may have connected between the check and the removal: its token
	// no longer works, so cut that connection too.
	closed := s.revoked(d.ID)
	s.Log.Info("display forgotten", "display", d.ID, "name", d.Name, "register", d.Register, "last_seen", d.LastSeen, "connections_closed", closed)
	reply(w, http.StatusOK, DisplayStatus{Display: d, Connected: closed > 0})
}
