// The guest join page: ask the portal for a LiveKit token, join, show a
// tile per participant (and per shared screen), and offer mic, camera,
// screen sharing and leave. Names and errors are only ever set with
// textContent: a name is whatever a guest typed.
(function () {
  'use strict';
  const LK = window.LivekitClient;
  const page = document.getElementById('page');
  const meetingID = page.dataset.meeting;
  const $ = (id) => document.getElementById(id);
  const form = $('join-form'), nameInput = $('name'), joinButton = $('join');
  const errorLine = $('error'), statusLine = $('status');
  const meeting = $('meeting'), grid = $('grid');
  const micButton = $('mic'), cameraButton = $('camera'), shareButton = $('share');
  const audioButton = $('audio'), leaveButton = $('leave');

  // The kit decodes one video codec: everybody publishes H.264, with
  // simulcast so each receiver gets the layer its bandwidth allows.
  const publishOptions = { videoCodec: 'h264', simulcast: true };

  let room = null;
  let leaving = false;
  window.roomkit = { get room() { return room; } }; // for tests and the curious

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }
  function setStatus(text) { statusLine.textContent = text; }

  if (!LK) {
    showError('The meeting client did not load. Reload the page; if it stays, the portal is missing its LiveKit client script.');
    form.hidden = true;
    return;
  }
  const { Room, RoomEvent, Track, DisconnectReason } = LK;

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    joinButton.disabled = true;
    try {
      await join(nameInput.value);
    } catch (e) {
      showError(e.message || String(e));
      if (room) { leaving = true; room.disconnect(); room = null; }
      form.hidden = false;
      meeting.hidden = true;
      setStatus('');
    } finally {
      joinButton.disabled = false;
    }
  });

  // join asks the portal for a token (its error text is shown as it is)
  // and connects.
  async function join(name) {
    setStatus('Joining…');
    const resp = await fetch('/api/v1/meetings/' + encodeURIComponent(meetingID) + '/join', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: name }),
    });
    let body = null;
    try { body = await resp.json(); } catch (e) { /* not JSON: handled below */ }
    if (!resp.ok) {
      throw new Error((body && body.error) || ('The portal answered ' + resp.status + '.'));
    }
    if (body.meeting && body.meeting.title) {
      $('title').textContent = body.meeting.title;
    }
    room = new Room({ adaptiveStream: true, dynacast: true, publishDefaults: publishOptions });
    wire(room);
    leaving = false;
    try {
      await room.connect(body.url, body.token);
    } catch (e) {
      throw new Error('Could not connect to the meeting: ' + (e.message || e));
    }
    form.hidden = true;
    meeting.hidden = false;
    setStatus('');
    renderAll();
    // Devices are optional: a guest without a camera still hears and sees.
    try {
      await room.localParticipant.setMicrophoneEnabled(true);
    } catch (e) {
      showError('Your microphone is not available: ' + (e.message || e));
    }
    try {
      await room.localParticipant.setCameraEnabled(true, {}, publishOptions);
    } catch (e) {
      showError('Your camera is not available: ' + (e.message || e));
    }
    updateButtons();
  }

  function wire(r) {
    const rerender = () => { renderAll(); updateButtons(); };
    r.on(RoomEvent.ParticipantConnected, rerender)
      .on(RoomEvent.ParticipantDisconnected, rerender)
      .on(RoomEvent.ParticipantNameChanged, rerender)
      .on(RoomEvent.TrackSubscribed, rerender)
      .on(RoomEvent.TrackUnsubscribed, (track) => { track.detach(); rerender(); })
      .on(RoomEvent.LocalTrackPublished, rerender)
      .on(RoomEvent.LocalTrackUnpublished, (pub) => { if (pub.track) pub.track.detach(); rerender(); })
      .on(RoomEvent.TrackMuted, (pub, p) => {
        if (p === r.localParticipant && pub.source === Track.Source.Microphone && !selfMuting) {
          setStatus('The organiser muted you.');
        }
        rerender();
      })
      .on(RoomEvent.TrackUnmuted, rerender)
      .on(RoomEvent.ActiveSpeakersChanged, (speakers) => {
        const ids = new Set(speakers.map((p) => p.identity));
        for (const tile of grid.querySelectorAll('.tile')) {
          tile.classList.toggle('speaking', ids.has(tile.dataset.identity));
        }
      })
      .on(RoomEvent.AudioPlaybackStatusChanged, () => { audioButton.hidden = r.canPlaybackAudio; })
      .on(RoomEvent.Reconnecting, () => setStatus('Connection lost, reconnecting…'))
      .on(RoomEvent.Reconnected, () => setStatus(''))
      .on(RoomEvent.Disconnected, (reason) => {
        const why = {
          [DisconnectReason.ROOM_DELETED]: 'The meeting was ended.',
          [DisconnectReason.PARTICIPANT_REMOVED]: 'You were removed from the meeting.',
          [DisconnectReason.DUPLICATE_IDENTITY]: 'You joined this meeting somewhere else.',
          [DisconnectReason.JOIN_FAILURE]: 'Could not join the meeting.',
        }[reason];
        grid.replaceChildren();
        for (const el of document.querySelectorAll('audio[data-roomkit]')) el.remove();
        meeting.hidden = true;
        form.hidden = false;
        if (leaving) {
          setStatus('You left the meeting.');
        } else {
          setStatus('');
          showError(why || 'You were disconnected from the meeting.');
        }
        room = null;
      });
  }

  // renderAll makes the grid match the room: a tile per participant's
  // camera (with the name even when the camera is off) and one per shared
  // screen. Existing tiles and video elements are kept, so video does not
  // flicker.
  function renderAll() {
    if (!room) return;
    const want = new Map();
    const people = [room.localParticipant, ...room.remoteParticipants.values()];
    for (const p of people) {
      const local = p === room.localParticipant;
      const cam = p.getTrackPublication(Track.Source.Camera);
      want.set(p.identity + '/camera', { p, pub: cam, local, screen: false });
      const screen = p.getTrackPublication(Track.Source.ScreenShare);
      if (screen && screen.track) {
        want.set(p.identity + '/screen', { p, pub: screen, local, screen: true });
      }
      if (!local) {
        const mic = p.getTrackPublication(Track.Source.Microphone);
        attachAudio(p, mic);
      }
    }
    for (const tile of [...grid.children]) {
      if (!want.has(tile.dataset.key)) tile.remove();
    }
    for (const [key, w] of want) {
      let tile = grid.querySelector('[data-key="' + CSS.escape(key) + '"]');
      if (!tile) {
        tile = document.createElement('div');
        tile.className = 'tile' + (w.screen ? ' screen' : '');
        tile.dataset.key = key;
        tile.dataset.identity = w.p.identity;
        const label = document.createElement('span');
        label.className = 'name';
        tile.append(label);
        grid.append(tile);
      }
      const name = w.p.name || w.p.identity;
      const label = tile.querySelector('.name');
      label.textContent = (w.screen ? name + ' (screen)' : name) + (w.local ? ' (you)' : '');
      const track = w.pub && !w.pub.isMuted ? w.pub.track : null;
      let video = tile.querySelector('video');
      let initial = tile.querySelector('.initial');
      if (track) {
        if (initial) initial.remove();
        if (!video || video.dataset.sid !== (w.pub.trackSid || '')) {
          if (video) video.remove();
          video = track.attach();
          video.dataset.sid = w.pub.trackSid || '';
          video.muted = true;
          video.playsInline = true;
          tile.prepend(video);
        }
      } else {
        if (video) video.remove();
        if (!initial) {
          initial = document.createElement('span');
          initial.className = 'initial';
          tile.prepend(initial);
        }
        initial.textContent = Array.from(name)[0] ? Array.from(name)[0].toUpperCase() : '?';
      }
    }
  }

  function attachAudio(p, pub) {
    if (!pub || !pub.track || pub.track.attachedElements.length > 0) return;
    const el = pub.track.attach();
    el.dataset.roomkit = p.identity;
    el.hidden = true;
    document.body.append(el);
  }

  let selfMuting = false;
  function updateButtons() {
    if (!room) return;
    const lp = room.localParticipant;
    micButton.textContent = lp.isMicrophoneEnabled ? 'Mute' : 'Unmute';
    micButton.classList.toggle('on', !lp.isMicrophoneEnabled);
    cameraButton.textContent = lp.isCameraEnabled ? 'Stop video' : 'Start video';
    cameraButton.classList.toggle('on', !lp.isCameraEnabled);
    shareButton.textContent = lp.isScreenShareEnabled ? 'Stop sharing' : 'Share screen';
    shareButton.classList.toggle('on', lp.isScreenShareEnabled);
  }

  async function toggle(what, action) {
    if (!room) return;
    showError('');
    try {
      await action(room.localParticipant);
    } catch (e) {
      showError('Could not ' + what + ': ' + (e.message || e));
    }
    renderAll();
    updateButtons();
  }

  micButton.addEventListener('click', () => toggle('switch the microphone', async (lp) => {
    selfMuting = true;
    try {
      await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
    } finally {
      selfMuting = false;
    }
    setStatus('');
  }));
  cameraButton.addEventListener('click', () => toggle('switch the camera', (lp) =>
    lp.setCameraEnabled(!lp.isCameraEnabled, {}, publishOptions)));
  // setScreenShareEnabled asks the browser for a screen with getDisplayMedia.
  shareButton.addEventListener('click', () => toggle('share the screen', (lp) =>
    lp.setScreenShareEnabled(!lp.isScreenShareEnabled, { audio: false }, { videoCodec: 'h264' })));
  audioButton.addEventListener('click', () => room && room.startAudio());
  leaveButton.addEventListener('click', () => {
    if (!room) return;
    leaving = true;
    room.disconnect();
  });
})();
