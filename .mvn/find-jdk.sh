# Finds a JDK 21 or newer and exports JAVA_HOME. Sourced by ./flightdeck and ./mvnw (POSIX sh).
#
# Looks, in order, at: $JAVA_HOME, the javac on PATH, and the usual install folders
# (/usr/lib/jvm, /usr/java, /opt/java, /opt, SDKMAN, asdf, macOS JavaVirtualMachines).
# The first JDK whose major version is >= FLIGHTDECK_MIN_JAVA (21) wins; a machine whose
# default java is older (e.g. 17) is fine as long as a newer JDK is installed somewhere.

FLIGHTDECK_MIN_JAVA=21

fd_java_major() {
  # $1: a JDK home. Prints its major version, or nothing when it is not a usable JDK.
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  if [ -f "$1/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release" | head -n 1)
  else
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)
  fi
  case "$v" in 1.*) v=${v#1.} ;; esac
  v=${v%%[.+-]*}
  [ -n "$v" ] && echo "$v"
}

fd_jdk_ok() {
  m=$(fd_java_major "$1") || return 1
  [ -n "$m" ] && [ "$m" -ge "$FLIGHTDECK_MIN_JAVA" ] 2>/dev/null
}

fd_find_jdk() {
  if [ -n "${JAVA_HOME-}" ] && fd_jdk_ok "$JAVA_HOME"; then return 0; fi
  if command -v javac >/dev/null 2>&1; then
    h=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if fd_jdk_ok "$h"; then JAVA_HOME=$h; export JAVA_HOME; return 0; fi
  fi
  best=""; best_major=0
  case $- in *f*) fd_noglob=1; set +f ;; *) fd_noglob=0 ;; esac
  for h in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* /opt/*jdk* \
           "${HOME-}"/.sdkman/candidates/java/* "${HOME-}"/.asdf/installs/java/* \
           "${HOME-}"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$h" ] || continue
    m=$(fd_java_major "$h") || continue
    [ -n "$m" ] || continue
    # Prefer the lowest version that is new enough: it is closest to the release we target.
    if [ "$m" -ge "$FLIGHTDECK_MIN_JAVA" ] && { [ "$best_major" -eq 0 ] || [ "$m" -lt "$best_major" ]; }; then
      best=$h; best_major=$m
    fi
  done
  [ "$fd_noglob" -eq 1 ] && set -f
  if [ -n "$best" ]; then JAVA_HOME=$best; export JAVA_HOME; return 0; fi
  {
    echo "flightdeck: no JDK $FLIGHTDECK_MIN_JAVA or newer found."
    echo "  Looked at JAVA_HOME (${JAVA_HOME:-unset}), the javac on PATH, /usr/lib/jvm, /usr/java, /opt, SDKMAN and asdf."
    echo "  Install one, for example:"
    echo "    Debian/Ubuntu:  sudo apt-get install openjdk-21-jdk   (or temurin-21-jdk from https://adoptium.net)"
    echo "    macOS:          brew install openjdk@21"
    echo "    SDKMAN:         sdk install java 21-tem"
    echo "  or point JAVA_HOME at an existing JDK 21+."
  } >&2
  return 1
}
