package pairing

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Wire types of the pairing endpoints (documented in docs/protocol.md).
type (
	// OpenRequest is POSTed by an unpaired screen to /v1/pair.
	OpenRequest struct {
		Name string `json:"name"`
	}
	// OpenResponse answers it: the screen shows Code and polls
	// /v1/pair/{request} with Secret as its bearer token.
	OpenResponse struct {
		Request     string `json:"request"`
		Secret      string `json:"secret"`
		Code        string `json:"code"`
		ExpiresIn   int    `json:"expires_in"`
		Agent       string `json:"agent"`
		Fingerprint string `json:"fingerprint,omitempty"`
	}
	// PollResponse is the poll's answer: status "pending" or "approved"
	// (with the display's credentials, returned once).
	PollResponse struct {
		Status      string `json:"status"`
		Display     string `json:"display,omitempty"`
		Register    string `json:"register,omitempty"`
		Token       string `json:"token,omitempty"`
		Agent       string `json:"agent,omitempty"`
		Fingerprint string `json:"fingerprint,omitempty"`
	}
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
	// ErrorResponse is the body of every 4xx/5xx answer.
	ErrorResponse struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
)

// Server serves the pairing endpoints.
type Server struct {
	Pairer      *Pairer
	Registry    *Registry
	AgentID     string
	Fingerprint string
	AdminToken  string
	// Revoked is called after a display was revoked (disconnect it).
	Revoked func(displayID string)
	Log     *slog.Logger
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
		fail(w, http.StatusBadRequest, "bad_json", "body must be a JSON object: "+err.Error())
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
	mux.HandleFunc("POST /v1/pair", s.open)
	mux.HandleFunc("GET /v1/pair/{id}", s.poll)
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
}

func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			fail(w, http.StatusForbidden, "forbidden_origin", "the admin endpoint is not for web pages")
			return
		}
		if t := bearer(r); t == "" || subtle.ConstantTimeCompare([]byte(t), []byte(s.AdminToken)) != 1 {
			fail(w, http.StatusUnauthorized, "unauthorized", "admin token missing or wrong (run the command as root or as the posdisplay user)")
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
	p, err := s.Pairer.Open(req.Name, remoteIP(r))
	switch {
	case errors.Is(err, ErrTooMany):
		fail(w, http.StatusTooManyRequests, "too_many", err.Error())
		return
	case err != nil:
		fail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.Log.Info("pairing requested", "name", req.Name, "remote", remoteIP(r))
	reply(w, http.StatusCreated, OpenResponse{Request: p.ID, Secret: p.Secret, Code: p.Code,
		ExpiresIn: int(time.Until(p.Expires).Seconds()), Agent: s.AgentID, Fingerprint: s.Fingerprint})
}

func (s *Server) poll(w http.ResponseWriter, r *http.Request) {
	res, err := s.Pairer.Poll(r.PathValue("id"), bearer(r))
	if err != nil {
		fail(w, http.StatusNotFound, "expired", "unknown or expired pairing request: start again")
		return
	}
	if res == nil {
		reply(w, http.StatusOK, PollResponse{Status: "pending"})
		return
	}
	reply(w, http.StatusOK, PollResponse{Status: "approved", Display: res.DisplayID, Register: res.Register,
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
		fail(w, http.StatusTooManyRequests, "locked_out", err.Error())
	case errors.Is(err, ErrBadCode):
		s.Log.Warn("pairing approval with a wrong code")
		fail(w, http.StatusNotFound, "bad_code", "no screen shows this code (check it, or it expired)")
	case err != nil:
		fail(w, http.StatusBadRequest, "bad_request", err.Error())
	default:
		s.Log.Info("display paired", "display", d.ID, "name", d.Name, "register", d.Register)
		reply(w, http.StatusOK, d)
	}
}

func (s *Server) pending(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Pairer.Pending())
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Registry.List())
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	var req AddRequest
	if !decode(w, r, &req) {
		return
	}
	d, token, err := s.Registry.Add(req.Name, req.Register, "provisioned")
	if err != nil {
		fail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.Log.Info("display provisioned", "display", d.ID, "name", d.Name, "register", d.Register)
	reply(w, http.StatusCreated, AddResponse{Display: d, Token: token})
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	d, err := s.Registry.Revoke(r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		fail(w, http.StatusNotFound, "not_found", "no display with this id (see `posdisplay-agent displays list`)")
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	if s.Revoked != nil {
		s.Revoked(d.ID)
	}
	s.Log.Info("display revoked", "display", d.ID, "name", d.Name, "register", d.Register)
	reply(w, http.StatusOK, d)
}
