// Command portal runs the RoomKit portal: the server room kits pair with
// and the admin center. See docs/protocol.md.
//
//	portal -listen ADDR -data DIR [-url URL] [-bootstrap-admin FILE]
//	portal admin create -data DIR -email E -password P
//	portal token create -data DIR -name NAME
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "time/tzdata" // room time zones are validated even where the host has no zoneinfo

	"roomkit/portal"
)

func main() {
	var err error
	switch {
	case len(os.Args) >= 3 && os.Args[1] == "admin" && os.Args[2] == "create":
		err = adminCreate(os.Args[3:])
	case len(os.Args) >= 3 && os.Args[1] == "token" && os.Args[2] == "create":
		err = tokenCreate(os.Args[3:])
	default:
		err = serve(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

func adminCreate(args []string) error {
	fs := flag.NewFlagSet("portal admin create", flag.ExitOnError)
	data := fs.String("data", "", "state directory")
	email := fs.String("email", "", "administrator's email address")
	password := fs.String("password", "", "password: at least 8 characters, letters and digits")
	fs.Parse(args)
	if *data == "" || *email == "" {
		return errors.New("admin create needs -data and -email")
	}
	return withServer(*data, func(s *portal.Server) error {
		if err := s.CreateAdmin(*email, *password); err != nil {
			return err
		}
		fmt.Printf("administrator %s created\n", *email)
		return nil
	})
}

func tokenCreate(args []string) error {
	fs := flag.NewFlagSet("portal token create", flag.ExitOnError)
	data := fs.String("data", "", "state directory")
	name := fs.String("name", "", "what the token is for")
	fs.Parse(args)
	if *data == "" || *name == "" {
		return errors.New("token create needs -data and -name")
	}
	return withServer(*data, func(s *portal.Server) error {
		tok, err := s.CreateAPIToken(*name)
		if err != nil {
			return err
		}
		fmt.Println(tok)
		return nil
	})
}

// withServer opens the state for a one-off command; the URL is not used.
func withServer(data string, f func(*portal.Server) error) error {
	s, err := portal.New(portal.Config{DataDir: data, URL: "http://localhost"})
	if err != nil {
		return err
	}
	return errors.Join(f(s), s.Close())
}

func serve(args []string) error {
	fs := flag.NewFlagSet("portal", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
	data := fs.String("data", "", "state directory (holds portal.db)")
	publicURL := fs.String("url", "", "public base URL (default http:// + the listen address)")
	bootstrap := fs.String("bootstrap-admin", "", "if there is no administrator, create one and write its credentials to this file (mode 0600)")
	fs.Parse(args)
	if *data == "" {
		return errors.New("-data is required")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := *publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	srv, err := portal.New(portal.Config{DataDir: *data, URL: base, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()

	fmt.Printf("portal listening on %s\nadmin center: %s/admin\n", base, base)
	if *bootstrap != "" {
		pw, err := srv.BootstrapAdmin()
		if err != nil {
			return err
		}
		if pw != "" {
			creds := fmt.Sprintf("admin center: %s/admin\nemail: %s\npassword: %s\n", base, portal.BootstrapAdminEmail, pw)
			if err := os.WriteFile(*bootstrap, []byte(creds), 0o600); err != nil {
				return fmt.Errorf("write bootstrap credentials: %w", err)
			}
			fmt.Printf("created administrator %s with password %s (also in %s)\n", portal.BootstrapAdminEmail, pw, *bootstrap)
		}
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return srv.Close()
}
