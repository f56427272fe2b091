// Package codec holds the kit's media codecs: H.264 through Cisco's
// openh264 and Opus through libopus, both cgo against the static libraries
// that github.com/pion/mediadevices bundles for amd64 and arm64.
//
// The H.264 encoder is mediadevices' own. mediadevices v0.9.4 has no H.264
// or Opus decoder and its Opus encoder only pulls from its audio readers, so
// the decoders and the Opus encoder here are small cgo bindings of their
// own. They compile against copies of the same library headers (include/,
// with their licences) and link against mediadevices' archives: the blank
// imports below put those archives on the final link line. cmd/go's
// per-package import link then cannot resolve our symbols; since Go 1.19
// that only marks the package as needing external linking, which openh264's
// C++ requires anyway.
package codec

import (
	_ "github.com/pion/mediadevices/pkg/codec/openh264" // links libopenh264.a
	_ "github.com/pion/mediadevices/pkg/codec/opus"     // links libopus.a
)
