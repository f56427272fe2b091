package alsa

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// CardsFile lists the kernel's sound cards with their drivers.
const CardsFile = "/proc/asound/cards"

// Card is one entry of /proc/asound/cards.
type Card struct {
	Number int
	ID     string // "USB", "PCH", "Headphones"
	Driver string // "USB-Audio", "HDA-Intel", "bcm2835_headpho"
	Name   string // "Jabra SPEAK 510 USB"
}

// ParseCards reads /proc/asound/cards:
//
//	1 [USB            ]: USB-Audio - Jabra SPEAK 510 USB
//	                     Jabra SPEAK 510 USB at usb-0000:00:14.0-2, full speed
//
// Continuation lines are skipped. "--- no soundcards ---" is no cards.
func ParseCards(b []byte) (map[int]Card, error) {
	cards := make(map[int]Card)
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "    ") ||
			strings.Contains(text, "no soundcards") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimLeft(text, " "), " [")
		if !ok {
			return nil, fmt.Errorf("%s line %d: %q is not a card", CardsFile, line, text)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s line %d: card number %q", CardsFile, line, num)
		}
		id, rest, ok := strings.Cut(rest, "]: ")
		if !ok {
			return nil, fmt.Errorf("%s line %d: %q lacks \"]: \"", CardsFile, line, text)
		}
		driver, name, _ := strings.Cut(rest, " - ")
		cards[n] = Card{Number: n, ID: strings.TrimSpace(id), Driver: strings.TrimSpace(driver), Name: strings.TrimSpace(name)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", CardsFile, err)
	}
	return cards, nil
}
