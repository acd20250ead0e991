# Sourced by scripts that take no arguments: `script_cli NAME "$@"` prints the script's header comment for
# --help/-h (exit 0) and rejects anything else (exit 2); say/fail print "[NAME] message" lines on stderr.
script_name=${0##*/}
say() { printf '[%s] %s\n' "$script_name" "$*" >&2; }
fail() { say "$*"; exit 1; }
script_cli() {
  script_name=$1
  shift
  case "${1:-}" in
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    '') ;;
    *) say "takes no arguments (see --help)"; exit 2 ;;
  esac
}
