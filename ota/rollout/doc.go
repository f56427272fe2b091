// Package rollout is the arithmetic of staged updates: which rooms a
// release may reach now (rings), when a room may install (its maintenance
// window), and when a rollout moves on or stops by itself. It is pure: no
// I/O, no clock of its own; every function takes the time it reasons about.
//
// # Who calls what
//
// The portal owns rollouts and policies: it keeps a Rollout per channel and
// version and a Layer per scope (fleet, group, room) in its database,
// merges the layers with Resolve, lets a room install a version when
// InRing(device, Percent(policy, rollout)), moves rollouts on with Advance
// and stops them with Judge. An admin's pause is Paused on a Layer or a
// Rollout. The kit owns the clock on the wall: its update agent installs
// only while InWindow, at NextOpen plus its own Jitter, in the room's time
// zone from the portal's answer.
//
// # Rings
//
// A ring is a share of the fleet: Policy.Rings lists the percentages a
// rollout opens in turn (10, 50, 100 by default). Every device has a fixed
// Bucket from 0 to 9999 derived from its ID alone, and belongs to every
// ring whose percentage times 100 exceeds it. So rings are nested (the
// rooms of the 10 % ring are also in the 50 % ring), the same rooms go
// first in every rollout (IT can point its canary rooms out), and no state
// is kept per device. Bucket's hash is pinned: changing it would reshuffle
// every fleet's rings.
//
// A rollout starts in ring 0, moves to the next ring when its Soak has
// passed since the ring started and nothing paused it, and stays in the
// last ring. It pauses by itself when more than FailPercent % of the rooms
// that tried the version failed or rolled back (at least one room).
//
// # Windows and daylight saving time
//
// A window is "HH:MM" to "HH:MM" on the room's wall clock, may cross
// midnight (22:00–02:00), and is always open when start equals end.
// InWindow compares the wall clock, never elapsed time, so daylight saving
// time needs no special case and behaves like a clock on the wall:
//
//   - When the clocks spring forward, the skipped wall-clock times do not
//     happen. A window inside the skipped hour (02:00–03:00 in Zurich on the
//     last Sunday of March) is empty that day, and NextOpen gives the next
//     day's. A window that overlaps it is shorter: 02:30–03:30 opens at
//     03:00 summer time.
//   - When the clocks fall back, the repeated wall-clock times happen twice.
//     A window covering the repeated hour is longer (02:00–03:00 in Zurich
//     on the last Sunday of October is open for two hours); a window that
//     starts inside it opens twice (02:30–03:30 opens at 02:30 summer time,
//     closes when the clocks go back to 02:00, and opens again at 02:30).
//
// A window that does not parse is read as ota.DefaultWindow by InWindow,
// NextOpen and Jitter, so a bad policy neither stops updates for good nor
// lets kits install during working hours; callers check windows with
// ParseWindow when they accept them and report its error.
package rollout
