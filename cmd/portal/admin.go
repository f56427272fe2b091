package main

// The one-off commands: portal admin create|passwd|revoke-sessions and
// portal token create. They open the portal's state directly.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"roomkit/portal"
)

// cli is where a command reads and writes; tests give it buffers.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// terminal says whether stdin is a person typing (then prompt, and
	// do not echo); nil means it is not.
	terminal func() bool
}

// command runs "admin …" or "token …".
func command(args []string, c cli) error {
	switch strings.Join(args[:2], " ") {
	case "admin create":
		return adminCreate(args[2:], c)
	case "admin passwd":
		return adminPasswd(args[2:], c)
	case "admin revoke-sessions":
		return adminRevokeSessions(args[2:], c)
	case "token create":
		return tokenCreate(args[2:], c)
	}
	return fmt.Errorf("unknown command %q: want admin create, admin passwd, admin revoke-sessions or token create", strings.Join(args[:2], " "))
}

func flags(name string, c cli) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// parse parses args and checks that every flag in need was given.
func parse(fs *flag.FlagSet, args []string, need ...string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	var missing []string
	for _, n := range need {
		if fs.Lookup(n).Value.String() != "" {
			continue
		}
		if n == "data" && fs.Lookup("db") != nil { // the state is in -data or -db
			if fs.Lookup("db").Value.String() != "" {
				continue
			}
			n = "data (or -db)"
		}
		missing = append(missing, "-"+n)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s needs %s", strings.TrimPrefix(fs.Name(), "portal "), strings.Join(missing, " and "))
	}
	return nil
}

func adminCreate(args []string, c cli) error {
	fs := flags("portal admin create", c)
	data := fs.String("data", "", "state directory")
	db := fs.String("db", "", "the PostgreSQL database instead of -data: postgres://…")
	email := fs.String("email", "", "administrator's email address")
	password := fs.String("password", "", `password: at least 8 characters, letters and digits; "-" reads it from stdin (a password here shows in the process list)`)
	pwFile := fs.String("password-file", "", "read the password from the first line of this file")
	if err := parse(fs, args, "data", "email"); err != nil {
		return err
	}
	pw, err := readPassword(c, *password, *pwFile, "Password for "+*email)
	if err != nil {
		return err
	}
	return withServer(*data, *db, func(s *portal.Server) error {
		if err := s.CreateAdmin(*email, pw); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "administrator %s created\n", *email)
		return nil
	})
}

func adminPasswd(args []string, c cli) error {
	fs := flags("portal admin passwd", c)
	data := fs.String("data", "", "state directory")
	db := fs.String("db", "", "the PostgreSQL database instead of -data: postgres://…")
	email := fs.String("email", "", "administrator's email address")
	pwFile := fs.String("password-file", "", "read the new password from the first line of this file (default: stdin)")
	if err := parse(fs, args, "data", "email"); err != nil {
		return err
	}
	pw, err := readPassword(c, "-", *pwFile, "New password for "+*email)
	if err != nil {
		return err
	}
	return withServer(*data, *db, func(s *portal.Server) error {
		n, err := s.SetAdminPassword(*email, pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "password of %s changed; %s signed out\n", *email, sessions(n))
		return nil
	})
}

func adminRevokeSessions(args []string, c cli) error {
	fs := flags("portal admin revoke-sessions", c)
	data := fs.String("data", "", "state directory")
	db := fs.String("db", "", "the PostgreSQL database instead of -data: postgres://…")
	email := fs.String("email", "", "administrator's email address")
	if err := parse(fs, args, "data", "email"); err != nil {
		return err
	}
	return withServer(*data, *db, func(s *portal.Server) error {
		n, err := s.RevokeSessions(*email)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s of %s signed out\n", sessions(n), *email)
		return nil
	})
}

func sessions(n int) string {
	if n == 1 {
		return "1 session"
	}
	return strconv.Itoa(n) + " sessions"
}

func tokenCreate(args []string, c cli) error {
	fs := flags("portal token create", c)
	data := fs.String("data", "", "state directory")
	db := fs.String("db", "", "the PostgreSQL database instead of -data: postgres://…")
	name := fs.String("name", "", "what the token is for")
	expires := fs.String("expires", "90d", "how long the token works: days (30d) or a Go duration (720h); at most 730d")
	roleName := fs.String("role", "admin", "what the token may do: viewer (read only), admin or owner (also manages administrators)")
	group := fs.String("group", "", "limit the token to the rooms of this group (default: the whole account)")
	if err := parse(fs, args, "data", "name"); err != nil {
		return err
	}
	life, err := parseLifetime(*expires)
	if err != nil {
		return err
	}
	role, err := portal.ParseRole(*roleName)
	if err != nil {
		return fmt.Errorf("-role: %w", err)
	}
	return withServer(*data, *db, func(s *portal.Server) error {
		tok, exp, err := s.CreateAPITokenWith(*name, portal.TokenOptions{Lifetime: life, Role: role, Group: *group, Actor: "command line"})
		if err != nil {
			return err
		}
		// The token alone on stdout, so scripts can capture it.
		fmt.Fprintln(c.stdout, tok)
		scope := "the whole account"
		if *group != "" {
			scope = fmt.Sprintf("the group %q", *group)
		}
		fmt.Fprintf(c.stderr, "token %q: %s of %s, expires %s\n", *name, role, scope, exp.UTC().Format("2006-01-02 15:04 UTC"))
		return nil
	})
}

// parseLifetime reads -expires: "90d" (days, as people say it) or
// anything time.ParseDuration takes.
func parseLifetime(s string) (time.Duration, error) {
	bad := fmt.Errorf("-expires %q: want a number of days like 90d, or a duration like 720h", s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// readPassword gets a password from -password-file, from stdin ("-"), or
// from the command line itself, which still works but is visible to
// every user of the machine (ps, /proc) and stays in shell history.
func readPassword(c cli, flagValue, file, prompt string) (string, error) {
	switch {
	case file != "" && flagValue != "" && flagValue != "-":
		return "", errors.New("give the password once: -password or -password-file, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		defer f.Close()
		pw, err := firstLine(f)
		if err != nil {
			return "", fmt.Errorf("read the password from %s: %w", file, err)
		}
		return pw, nil
	case flagValue == "-":
		tty := c.terminal != nil && c.terminal()
		if tty {
			fmt.Fprintf(c.stderr, "%s: ", prompt)
			restore := noEcho()
			defer func() { restore(); fmt.Fprintln(c.stderr) }()
		}
		pw, err := firstLine(c.stdin)
		if err != nil {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		return pw, nil
	case flagValue == "":
		return "", errors.New(`give the password with -password - (read from stdin) or -password-file FILE`)
	}
	fmt.Fprintln(c.stderr, "warning: a password given with -password is visible to other users in the process list and stays in your shell history; use -password - (stdin) or -password-file FILE, and change it with portal admin passwd")
	return flagValue, nil
}

// firstLine reads one line, without its line ending; an empty input is
// an error rather than an empty password.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("it is empty")
	}
	return line, nil
}
