package main

// portal migrate and portal db export|import: the store without serving.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"roomkit/portal"
)

// storeCommand runs "migrate …" or "db export|import …".
func storeCommand(args []string, c cli) error {
	switch {
	case args[0] == "migrate":
		return migrateCmd(args[1:], c)
	case len(args) >= 2 && args[0] == "db" && args[1] == "export":
		return exportCmd(args[2:], c)
	case len(args) >= 2 && args[0] == "db" && args[1] == "import":
		return importCmd(args[2:], c)
	}
	return fmt.Errorf("unknown command %q: want migrate, db export or db import", args)
}

// openStoreFlags parses -data/-db and opens the store they name.
func openStoreFlags(name string, args []string, c cli, more func(fs flagSet)) (*portal.Store, error) {
	fs := flags(name, c)
	data := fs.String("data", "", "state directory (holds portal.db)")
	db := fs.String("db", "", "the PostgreSQL database instead of -data: postgres://…")
	if more != nil {
		more(fs)
	}
	if err := parse(fs, args, "data"); err != nil {
		return nil, err
	}
	if *data != "" && *db != "" {
		return nil, fmt.Errorf("%s: give -data or -db, not both", name)
	}
	return portal.OpenStore(portal.Config{DataDir: *data, DB: *db})
}

type flagSet = interface {
	String(name, value, usage string) *string
}

// migrateCmd brings the store's schema up to date and exits: run it
// before starting a new release's replicas (each also migrates at start,
// under the same lock).
func migrateCmd(args []string, c cli) error {
	st, err := openStoreFlags("portal migrate", args, c, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "schema up to date")
	return st.Close()
}

func exportCmd(args []string, c cli) error {
	var out *string
	st, err := openStoreFlags("portal db export", args, c, func(fs flagSet) {
		out = fs.String("o", "", "write the dump to this file (default: standard output)")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	w := c.stdout
	var f *os.File
	if *out != "" {
		if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w = f
	}
	err = st.Export(context.Background(), w)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func importCmd(args []string, c cli) error {
	var in *string
	st, err := openStoreFlags("portal db import", args, c, func(fs flagSet) {
		in = fs.String("i", "", "read the dump from this file (default: standard input)")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	var r io.Reader = c.stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	n, err := st.Import(context.Background(), bufio.NewReader(r))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "imported %d rows\n", n)
	return nil
}
