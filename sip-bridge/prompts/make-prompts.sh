#!/bin/sh
# Makes the phone prompts (greeting, hold music, position announcements) as Opus files for Janus
# AudioBridge play_file: espeak-ng speaks the text, sox shapes it (48 kHz mono, a short fade), and
# ffmpeg encodes Ogg/Opus. The generated files are committed: they are product assets, and servers
# need none of these tools. Run it again after changing a text.
set -eu
cd "$(dirname "$0")"
VOICE="${VOICE:-en-us}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { # name text
  espeak-ng -v "$VOICE" -s 150 -w "$tmp/$1.raw.wav" "$2"
  sox "$tmp/$1.raw.wav" -r 48000 -c 1 "$tmp/$1.wav" fade 0.02 0 0.05 pad 0.2 0.3
  ffmpeg -loglevel error -y -i "$tmp/$1.wav" -c:a libopus -b:a 24k -ar 48000 -ac 1 "$1.opus"
}

say greeting "Thank you for calling. Please hold, the next available agent will be with you shortly."
say menu "For billing, press 1. For technical support, press 2. For anything else, please stay on the line."
say callback "Thank you. We will call you back. Goodbye."
say callback-offer "To be called back instead of waiting, press 9."
say recording-notice "This call is recorded."
say all-agents-busy "All our agents are busy at the moment. Please stay on the line."
say goodbye "We are sorry, we cannot take your call now. Please try again later. Goodbye."
say position-prefix "You are caller number"
for n in 1 2 3 4 5 6 7 8 9 10; do
  say "number-$n" "$n"
done
say position-more "There are more than ten callers ahead of you."

# Hold music: 30 s of a soft chord progression (synthesised, so no licence question).
sox -n -r 48000 -c 1 "$tmp/moh.wav" \
  synth 7.5 pluck C4 pluck E4 pluck G4 : synth 7.5 pluck A3 pluck C4 pluck E4 : \
  synth 7.5 pluck F3 pluck A3 pluck C4 : synth 7.5 pluck G3 pluck B3 pluck D4 \
  vol 0.3 fade 0.5 30 1 repeat 0
ffmpeg -loglevel error -y -i "$tmp/moh.wav" -c:a libopus -b:a 16k -ar 48000 -ac 1 music-on-hold.opus
ls -l ./*.opus
