//go:build race

package portal

// raceEnabled: the race detector's shadow memory makes RSS figures of
// the test process meaningless.
const raceEnabled = true
