# Sourced by the bench scripts from the repository root: builds every binary with PROFILE
# (release unless PROFILE=debug) in CARGO_TARGET_DIR (default: $HOME/.cache/veil-target-release,
# or veil-target for debug) and sets BIN to the directory holding them.
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veil-target-release}"
  cargo build --release -q --workspace --bins
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veil-target}"
  cargo build -q --workspace --bins
fi
BIN="$CARGO_TARGET_DIR/$PROFILE"
