package appliance

// The Kit's methods for the control API (appliance/control, roomctl):
// each hands over to the part of the kit that does it.

import (
	"context"
	"fmt"
)

// MeetNow starts an instant meeting and joins it. It returns once the
// kit is in the meeting, or why it is not.
func (k *Kit) MeetNow(ctx context.Context) error { return k.meetings.meetNow(ctx) }

// JoinMeeting joins the meeting id ("123456789" or "123-456-789"). A
// refusal by the portal is a *portalapi.MeetingError in its words.
func (k *Kit) JoinMeeting(ctx context.Context, id string) error { return k.meetings.joinID(ctx, id) }

// Leave leaves the meeting and returns the kit to the home screen.
func (k *Kit) Leave() error { return k.meetings.leave() }

// SetMuted mutes or unmutes the room's microphone, in a meeting or not
// (the mute LED shows it either way; a meeting joined later applies it).
func (k *Kit) SetMuted(muted bool) { k.meetings.setMuted(func(bool) bool { return muted }) }

// SetCameraOff turns the room's camera off (no frame leaves the kit) or
// on again in the meeting.
func (k *Kit) SetCameraOff(off bool) error { return k.meetings.setCameraOff(off) }

// SetVolume sets the speaker's volume, 0–100.
func (k *Kit) SetVolume(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("volume %d: want 0 to 100", percent)
	}
	k.meetings.setVolume(func(int) int { return percent })
	return nil
}

// LockMeeting locks or unlocks the meeting the room organises.
func (k *Kit) LockMeeting(ctx context.Context, locked bool) error {
	return k.meetings.lock(ctx, locked)
}

// MuteParticipant mutes one participant's microphone (identity), or
// everybody's but the room's with identity "".
func (k *Kit) MuteParticipant(ctx context.Context, identity string) error {
	return k.meetings.muteParticipant(ctx, identity)
}

// EndMeeting ends the meeting the room organises for everyone and
// returns the kit home; see meetingControl.endForAll.
func (k *Kit) EndMeeting(ctx context.Context) error { return k.meetings.endForAll(ctx) }
