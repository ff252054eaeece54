#!/usr/bin/env bash
# A correct integration of the NemoVideo agent API in bash + curl + jq, written for the audit's tests.
#
#   integration.sh CLIP     upload CLIP, ask for a video, ask for an edit, export it and download the MP4
#
# It follows the skill documents: a token for a random X-Client-Id, a session, the three attribution headers on
# every request, one retry after 1001 (new token), 1002 (new session) or 429 (after Retry-After), the envelope's
# code (never the HTTP status) deciding, streams read to their end, the state read after a stream that said
# nothing, a render polled every 30 s until it is done, then its output URL downloaded.
#
# INTEGRATION_BUG=<name> plants exactly one bug (the tests prove each is caught by its rule); see the `bug` calls.
set -uo pipefail

API=${NEMO_API_URL:-https://mega-api-prod.nemovideo.ai}
CLIP=${1:?usage: integration.sh CLIP}
BUG=${INTEGRATION_BUG:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TOKEN="" USER_ID="" SID="" CLIENT_ID=""
ACCEPTED="mp4, mov, avi, webm, mkv, jpg, png, gif, webp, mp3, wav, m4a, aac"

bug() { [ "$BUG" = "$1" ]; }
say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }

new_uuid() {
  if [ -r /proc/sys/kernel/random/uuid ]; then cat /proc/sys/kernel/random/uuid; else uuidgen; fi
}

# request METHOD PATH BODY_FN OUT [curl options...]: one HTTP request. {sid} in PATH and the body that BODY_FN
# prints (if any) are made now, from the current session. The answer goes to OUT, its head to $WORK/head, its
# status to HTTP_STATUS.
request() {
  local method=$1 path=${2//\{sid\}/$SID} body_fn=$3 out=$4
  shift 4
  local args=(-sS -X "$method" -o "$out" -D "$WORK/head"
    -H "X-Skill-Source: video-to-generator" -H "X-Skill-Version: 1.0.0")
  if ! { bug no-platform-header && [[ $path == /api/state/* ]]; }; then
    args+=(-H "X-Skill-Platform: unknown")
  fi
  if [ "$path" = /api/auth/anonymous-token ]; then
    [ -z "${NO_CLIENT_ID:-}" ] && args+=(-H "X-Client-Id: $CLIENT_ID")
  elif [ -n "$TOKEN" ]; then
    args+=(-H "Authorization: Bearer $TOKEN")
  fi
  if [ -n "$body_fn" ]; then
    "$body_fn" >"$WORK/request.json"
    args+=(-H "Content-Type: application/json" --data-binary "@$WORK/request.json")
  fi
  : >"$WORK/head"
  curl "${args[@]}" "$@" "$API$path" || [ "$out" = /dev/stdout ] || {
    warn "Cannot reach the service at $API."
    return 1
  }
  HTTP_STATUS=$(tr -d '\r' <"$WORK/head" | awk '/^HTTP\// { status = $2 } END { print status }')
}

code_of() { jq -r 'if type == "object" and has("code") then .code | tostring else "none" end' "$1" 2>/dev/null || echo none; }

retry_after() {
  local wait
  wait=$(tr -d '\r' <"$WORK/head" | awk -F': *' 'tolower($1) == "retry-after" { print $2 }')
  case $wait in '' | *[!0-9]*) wait=30 ;; esac
  bug no-wait-429 && wait=0
  printf '%s' "$wait"
}

advise() { # advise CODE ANSWER: what the documents say to tell the user
  local message
  message=$(jq -r '.message // "no message"' "$2" 2>/dev/null)
  case $1 in
    2001)
      local link
      link=$(jq -r '.data.register_url // empty' "$2" 2>/dev/null)
      if [ -n "$link" ]; then warn "You are out of credits. Register to get more: $link"; else warn "You are out of credits: top up your account."; fi ;;
    4001) warn "That file type is not accepted. Accepted formats: $ACCEPTED." ;;
    4002) warn "That file is too large (500 MB at most): compress or trim it, then try again." ;;
    402) warn "Export is not available on your current plan. This is about the subscription plan, not credits." ;;
    429) warn "The service is busy right now; try again in a minute." ;;
    1001) warn "The service did not accept the token." ;;
    1002) warn "The editing session could not be found." ;;
    *) warn "The service refused the request (code $1): $message" ;;
  esac
}

# exchange MODE METHOD PATH BODY_FN [curl options...]: a call with the recovery the documents ask for, once.
# MODE json: the answer is in $WORK/answer; MODE stream: the event stream is in $WORK/stream. Returns 0 on
# success; else the user was told why and it returns 1.
exchange() {
  local mode=$1 method=$2 path=$3 body_fn=$4
  shift 4
  local out=$WORK/answer tries=0 busy=0 code
  [ "$mode" = stream ] && out=$WORK/stream
  while :; do
    if [ "$mode" = stream ] && bug heartbeat-is-end; then
      # The bug: the stream is read up to the first heartbeat, as if that were its end.
      request "$method" "$path" "$body_fn" /dev/stdout "$@" | sed -n -e '/^data:[[:space:]]*$/q' -e '/^: ping/q' \
        -e '/"type":"heartbeat"/q' -e 'p' >"$out"
      HTTP_STATUS=$(tr -d '\r' <"$WORK/head" | awk '/^HTTP\// { status = $2 } END { print status }')
    else
      request "$method" "$path" "$body_fn" "$out" "$@" || return 1
    fi
    if bug status-decides; then
      # The bug: a 200 is taken for success, whatever the envelope says.
      [ "$HTTP_STATUS" = 200 ] && return 0
    elif [ "$mode" = stream ]; then
      grep -qi '^content-type: *text/event-stream' "$WORK/head" && return 0
    fi
    code=$(code_of "$out")
    if [ "$code" = 0 ] || { [ "$code" = none ] && jq -e '.success == true' "$out" >/dev/null 2>&1; }; then
      return 0
    fi
    if [ "$code" = 402 ] && bug retry-402 && [ "$tries" = 0 ]; then
      tries=1
      continue
    fi
    if [ "$code" = 409 ] && [ "$path" = /run_sse ] && bug overlap-turns && [ "$busy" -lt 5 ]; then
      busy=$((busy + 1)) # the bug's other half: "busy" means "wait for the other turn, then send it again"
      wait
      sleep 1
      continue
    fi
    local limit=1
    bug retry-twice && limit=2
    if [ "$tries" -ge "$limit" ]; then
      advise "$code" "$out"
      return 1
    fi
    tries=$((tries + 1))
    case $code in
      1001) renew_token || return 1 ;;
      1002) recreate_session || return 1 ;;
      429) sleep "$(retry_after)" ;;
      400)
        # "missing X-Client-Id; generate one and retry"
        if [ "$path" = /api/auth/anonymous-token ]; then CLIENT_ID=$(new_uuid) NO_CLIENT_ID=""; else advise "$code" "$out"; return 1; fi ;;
      *) advise "$code" "$out"; return 1 ;;
    esac
  done
}

call() { exchange json "$@"; }

# peek METHOD PATH: a call only to show something; it is not worth a recovery, and a failure is only said.
peek() {
  request "$1" "$2" "" "$WORK/answer" && [ "$(code_of "$WORK/answer")" = 0 ]
}

get_token() {
  if bug no-client-id-first && [ -z "${ASKED_ONCE:-}" ]; then NO_CLIENT_ID=1; fi
  ASKED_ONCE=1
  local saved=$TOKEN
  TOKEN=""
  if ! call POST /api/auth/anonymous-token ""; then
    TOKEN=$saved
    return 1
  fi
  local new_user
  new_user=$(jq -r .data.user_id "$WORK/answer")
  TOKEN=$(jq -r .data.token "$WORK/answer")
  bug prints-token && warn "debug: using token $TOKEN"
  if [ -n "$USER_ID" ] && [ "$new_user" != "$USER_ID" ]; then SID=""; fi # sessions belong to a user
  USER_ID=$new_user
}

renew_token() {
  local old=$TOKEN
  get_token || return 1
  if bug renew-twice; then get_token || return 1; fi
  if bug retry-old-token; then TOKEN=$old; fi
  if [ -z "$SID" ]; then new_session; else return 0; fi
}

session_body() { jq -nc '{task_name: "project", language: "en"}'; }

new_session() {
  call POST "/api/tasks/me/with-session/nemo_agent" session_body || return 1
  bug prints-raw-json && cat "$WORK/answer" && echo
  SID=$(jq -r .data.session_id "$WORK/answer")
}

recreate_session() {
  local lost=$SID
  new_session || return 1
  if bug retry-old-session; then SID=$lost; fi
  return 0
}

turn_body() {
  jq -nc --arg sid "$SID" --arg text "$TURN_TEXT" \
    '{app_name: "nemo_agent", user_id: "me", session_id: $sid, new_message: {parts: [{text: $text}]}}'
}

# The text of a stream's events (ADK or typed; heartbeats and tool calls stay internal), and its error if any.
stream_texts() {
  sed -n 's/^data:[ ]\{0,1\}//p' "$1" | tr -d '\r' | jq -R -r 'select(length > 0) | (fromjson? // null)
    | select(type == "object")
    | if .type == "text" then .content
      elif has("type") or has("error") then empty
      else ((.content.parts // []) | map(.text // empty) | join("")) end
    | select(. != null and . != "")'
}
stream_error() { sed -n 's/^data:[ ]\{0,1\}//p' "$1" | tr -d '\r' | jq -R -r '(fromjson? // null) | objects | .error // empty | tostring'; }

tracks() { jq -r '(.data.state.draft.t // []) | length' "$WORK/answer"; }

# turn TEXT: one message to the agent, its stream read to the end.
turn() {
  TURN_TEXT=$1
  exchange stream POST /run_sse turn_body -N -H "Accept: text/event-stream" --max-time 900 || return 1
  local failure texts
  failure=$(stream_error "$WORK/stream")
  if [ -n "$failure" ]; then
    warn "The agent could not finish: $failure"
    return 1
  fi
  texts=$(stream_texts "$WORK/stream")
  if [ -n "$texts" ]; then
    say "$texts"
    return 0
  fi
  # A stream that closed without any text: the change, if any, is in the state.
  bug no-state-after-silence && { say "Done."; return 0; }
  call GET "/api/state/nemo_agent/me/{sid}/latest" "" || return 1
  say "The agent is done; the timeline now has $(tracks) tracks."
  if bug resend-after-cut && [ -z "${RESENT:-}" ]; then
    RESENT=1 # the bug: the edit looked lost, so the same message goes again
    turn "$1"
  fi
}

render_body() {
  jq -nc --arg id "$RENDER_ID" --arg sid "$SID" --slurpfile draft "$WORK/draft.json" \
    '{id: $id, sessionId: $sid, draft: $draft[0], output: {format: "mp4", quality: "high"}}'
}

render_status() { jq -r '.status // .data.status // empty' "$WORK/answer"; }

export_video() {
  call GET "/api/state/nemo_agent/me/{sid}/latest" "" || return 1
  if [ "$(tracks)" = 0 ]; then
    warn "There is nothing to export yet: the timeline is empty."
    return 1
  fi
  jq -c .data.state.draft "$WORK/answer" >"$WORK/draft.json"
  bug session-for-export && { new_session || return 1; }
  RENDER_ID="render_$(date +%s)${RANDOM}"
  say "Exporting your video (this usually takes 30-90 seconds)..."
  call POST /api/render/proxy/lambda render_body || return 1
  local status interval=30
  status=$(render_status)
  bug fast-polls && interval=5
  while [ "$status" = pending ] || [ "$status" = processing ]; do
    sleep "$interval"
    call GET "/api/render/proxy/lambda/$RENDER_ID" "" || return 1
    status=$(render_status)
  done
  if [ "$status" != completed ]; then
    warn "The render failed: $(jq -r '.error // .data.error // "no reason given"' "$WORK/answer")"
    return 1
  fi
  bug poll-after-done && call GET "/api/render/proxy/lambda/$RENDER_ID" ""
  local url
  if bug toplevel-url-only; then
    url=$(jq -r '.output.url // empty' "$WORK/answer")
  else
    url=$(jq -r '.output.url // .data.outputUrl // empty' "$WORK/answer")
  fi
  if [ -n "$url" ]; then
    curl -sS -f -o "$HOME/video.mp4" "$url" || { warn "The video could not be downloaded."; return 1; }
  else
    request GET "/api/render/proxy/$RENDER_ID/download" "" "$HOME/video.mp4" || return 1
  fi
  say "Your video is ready: $HOME/video.mp4 ($(wc -c <"$HOME/video.mp4") bytes)."
}

main() {
  CLIENT_ID=$(new_uuid)
  say "Setting up..."
  get_token || return 1
  new_session || return 1
  call POST "/api/upload-video/nemo_agent/me/{sid}" "" -F "files=@$CLIP" || {
    if bug reupload; then call POST "/api/upload-video/nemo_agent/me/{sid}" "" -F "files=@$CLIP" || return 1; else return 1; fi
  }
  say "Uploaded $(basename "$CLIP")."
  if bug overlap-turns; then
    # The bug: the edit is sent while the generation still streams, in the background.
    (WORK=$(mktemp -d) && turn "make a 10-second video from my clip with music and a title") &
    sleep 1
  else
    turn "make a 10-second video from my clip with music and a title" || {
      bug continue-after-2001 || return 1
    }
  fi
  turn "add a title that says Hello" || { bug continue-after-2001 || return 1; }
  wait
  local auth_for_credits=$TOKEN
  bug no-bearer-on-credits && TOKEN=""
  if peek GET /api/credits/balance/simple; then say "Credits left: $(jq -r .data.available "$WORK/answer")."; fi
  TOKEN=$auth_for_credits
  bug token-every-call && { get_token || return 1; }
  export_video || return 1
  local user=me
  bug foreign-user-path && user=$CLIENT_ID
  if peek GET "/api/state/nemo_agent/$user/$SID/latest"; then say "The final timeline has $(tracks) tracks."; fi
}

main
status=$?
bug swallow-errors && exit 0
exit $status
