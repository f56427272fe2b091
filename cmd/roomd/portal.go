package main

import (
	"roomkit/provisioning"
	"roomkit/settings"
)

const defaultPortal = "http://127.0.0.1:8080"

// portalURL picks the portal: the -portal flag, else settings.json's
// portal_url (what the installer chose), else the portal the kit was
// paired with (so a paired kit keeps its portal across reboots), else
// defaultPortal. A damaged state file is dealt with (and shown) by the
// kit itself.
func portalURL(flagValue string, s settings.Settings, stateDir string) string {
	switch {
	case flagValue != "":
		return flagValue
	case s.PortalURL != "":
		return s.PortalURL
	}
	// Peek: a damaged state file must stay where the kit finds it, so
	// the kit can recover its room from the portal.
	if st, err := provisioning.PeekState(stateDir); err == nil && st.PortalURL != "" {
		return st.PortalURL
	}
	return defaultPortal
}
