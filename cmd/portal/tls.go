package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"roomkit/portal"
)

// proxyList is the repeatable -trusted-proxy flag; each value may be a
// comma-separated list.
type proxyList []netip.Prefix

func (p *proxyList) String() string {
	var s string
	for i, x := range *p {
		if i > 0 {
			s += ","
		}
		s += x.String()
	}
	return s
}

func (p *proxyList) Set(v string) error {
	ps, err := portal.ParseTrustedProxies(v)
	if err != nil {
		return err
	}
	*p = append(*p, ps...)
	return nil
}

// certFiles serves a certificate and key from files and reads them again
// when the certificate file changes, so a renewed certificate (certbot,
// an ACME client's hook) takes effect without a restart.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
}

// loadTLS reads the certificate and key once, so a wrong path or a key
// that does not fit is an error at start-up rather than at the first
// handshake.
func loadTLS(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("-tls-cert and -tls-key go together: give both, or neither for plain HTTP behind a TLS proxy")
	}
	if certFile == "" {
		return nil, nil
	}
	c := &certFiles{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}, nil
}

func (c *certFiles) reload() error {
	st, err := os.Stat(c.certFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert, c.modTime = &cert, st.ModTime()
	c.mu.Unlock()
	return nil
}

// get is tls.Config.GetCertificate. A certificate that cannot be read
// again (a renewal caught half written) keeps the previous one serving.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if st, err := os.Stat(c.certFile); err == nil {
		c.mu.Lock()
		changed := !st.ModTime().Equal(c.modTime)
		c.mu.Unlock()
		if changed {
			if err := c.reload(); err != nil {
				c.log.Error("reload TLS certificate; serving the previous one", "err", err)
			} else {
				c.log.Info("reloaded TLS certificate", "file", c.certFile)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

// newHTTPServer is the portal's HTTP server, with TLS if tlsConf is set.
// Its own complaints (failed handshakes, plain HTTP on the TLS port) go
// to the portal's log.
func newHTTPServer(h http.Handler, tlsConf *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConf,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// serveOn serves hs on ln: HTTPS if hs has a TLS configuration.
func serveOn(hs *http.Server, ln net.Listener) error {
	if hs.TLSConfig != nil {
		return hs.ServeTLS(ln, "", "") // the certificate comes from TLSConfig.GetCertificate
	}
	return hs.Serve(ln)
}
