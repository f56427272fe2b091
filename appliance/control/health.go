package control

import (
	"context"
	"net/http"
	"time"

	"roomkit/health"
)

// health serves GET /v1/health: the kit's health tree, evaluated now, as
// `roomctl health -json` prints it (docs/health.md). It answers 200 also
// for a failed kit: the request worked, the tree says how the kit is.
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.kit.Health(time.Now()))
}

// Health returns the kit's health tree.
func (c *Client) Health(ctx context.Context) (health.Report, error) {
	var r health.Report
	err := c.call(ctx, http.MethodGet, "/v1/health", &r)
	return r, err
}
