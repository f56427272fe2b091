package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkit/portal"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// to dir and returns the certificate.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestTLS: with -tls-cert and -tls-key the portal answers HTTPS with that
// certificate, refuses plain HTTP, and serves a renewed certificate
// without a restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := selfSigned(t, dir, "portal")
	log := slog.New(slog.DiscardHandler)
	conf, err := loadTLS(certFile, keyFile, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	srv, err := portal.New(portal.Config{DataDir: filepath.Join(dir, "data"), URL: base, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := newHTTPServer(srv.Handler(), conf, log)
	errc := make(chan error, 1)
	go func() { errc <- serveOn(hs, ln) }()
	defer func() {
		hs.Close()
		if err := <-errc; err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	}()

	get := func(trust *x509.Certificate, url string) (string, *x509.Certificate, error) {
		pool := x509.NewCertPool()
		pool.AddCert(trust)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		defer c.CloseIdleConnections()
		resp, err := c.Get(url)
		if err != nil {
			return "", nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + strings.TrimSpace(string(b)), resp.TLS.PeerCertificates[0], nil
	}
	got, peer, err := get(cert, base+"/healthz")
	if err != nil || got != "200 OK ok" || !peer.Equal(cert) {
		t.Fatalf("GET /healthz over TLS: %q, %v", got, err)
	}

	// Plain HTTP to the TLS port is answered, not served.
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %s, want 400", resp.Status)
	}

	// A renewal replaces the files; the next handshake uses the new pair.
	newCert, newKey, renewed := selfSigned(t, t.TempDir(), "renewed")
	for _, f := range [][2]string{{newCert, certFile}, {newKey, keyFile}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(time.Minute) // a modification time unlike the first file's, however coarse the clock
	os.Chtimes(certFile, later, later)
	if got, peer, err := get(renewed, base+"/healthz"); err != nil || !peer.Equal(renewed) {
		t.Fatalf("after renewal: %q, %v, want the renewed certificate", got, err)
	}
}

func TestLoadTLSErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir, "a")
	_, otherKey, _ := selfSigned(t, dir, "b")
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"cert without key", certFile, "", "-tls-cert and -tls-key go together"},
		{"key without cert", "", keyFile, "-tls-cert and -tls-key go together"},
		{"missing file", filepath.Join(dir, "nope.crt"), keyFile, "TLS certificate: stat " + filepath.Join(dir, "nope.crt") + ": no such file or directory"},
		{"key of another certificate", certFile, otherKey, "TLS certificate " + certFile + " with key " + otherKey + ": tls: private key does not match public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadTLS(tc.cert, tc.key, log)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("loadTLS: %v, want %q", err, tc.want)
			}
		})
	}
	if conf, err := loadTLS("", "", log); conf != nil || err != nil {
		t.Errorf("no TLS flags: %v, %v; want plain HTTP", conf, err)
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		err  bool
	}{
		{[]string{"10.0.0.0/8"}, "10.0.0.0/8", false},
		{[]string{"10.0.0.0/8,192.0.2.7", "::1"}, "10.0.0.0/8,192.0.2.7/32,::1/128", false},
		{[]string{"proxy.example.com"}, "", true},
	} {
		var p proxyList
		var err error
		for _, a := range tc.args {
			if err = p.Set(a); err != nil {
				break
			}
		}
		if (err != nil) != tc.err || (!tc.err && p.String() != tc.want) {
			t.Errorf("-trusted-proxy %q: %q, %v", tc.args, p.String(), err)
		}
	}
}
