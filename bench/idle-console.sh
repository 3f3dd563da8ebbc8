#!/usr/bin/env bash
# Idle console (issue targets: at the default 1 s refresh the console costs at most 3% of one
# core, and its memory stays flat over a 30-minute run).
# Usage: bench/idle-console.sh [minutes=30] [warm-up seconds=120] [config file]
#
# Starts two console windows side by side, each on its own virtual X server (xvfb-run; set
# VEGA_IDLE_PLATFORM=offscreen to use Qt's offscreen platform instead), with fresh settings
# and data directories, both showing the start page (Overview) and left alone:
#   demo     the default start (the built-in demo's traffic and local backend run in the same
#            process, so their cost is included: what a user sees);
#   no-demo  --no-demo: the console's own idle cost (engine snapshots, system sampling,
#            storage, the window);
#   demo-headless  the demo without a window (--headless), for reference: the demo window's
#            CPU minus this one is what the window costs while showing the demo's data.
# With a config file both run under it (the demo one with --demo).
# After the warm-up it samples /proc/<pid>/stat (utime + stime) and VmRSS every
# VEGA_IDLE_SAMPLE_SECONDS (default 60), prints one line per sample, then the figures: CPU as
# a percentage of one core over the whole measured span, RSS after the warm-up, at the end,
# the peak, and the growth.
#
# Targets, checked on the no-demo run (the console's own cost):
#   CPU <= 3% of one core;
#   RSS growth < 2 MiB after the warm-up (flat: the same bound as the soak's). The engine's
#   series take their whole hour of storage at their first point and SQLite's page cache is a
#   fixed 256 KiB, so nothing fills up slowly in an idle console.
# The demo run's figures are printed for reference: its traffic is part of what it costs.
# VEGA_CONSOLE names another binary (e.g. a copy, so the build tree can be rebuilt meanwhile).
# Exits 1 when a target is missed, 2 when a console could not be started or died.
set -euo pipefail
# A config path is taken relative to where the script is run from.
config=${3:-}
if [ -n "$config" ]; then
    config=$(realpath -e -- "$config" 2>/dev/null) || { echo "idle-console: cannot find the config file '$3'" >&2; exit 2; }
fi
cd "$(dirname "$0")/.."
minutes=${1:-30}
warmup=${2:-120}
sample=${VEGA_IDLE_SAMPLE_SECONDS:-60}
platform=${VEGA_IDLE_PLATFORM:-xcb}
binary=${VEGA_CONSOLE:-build/release/app/vega-console}
cpu_target=3
rss_growth_target_kib=2048

if ! [[ "$minutes" =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ]; then
    echo "idle-console: minutes must be a whole number >= 1, got '$minutes'" >&2
    exit 2
fi
if ! [[ "$warmup" =~ ^[0-9]+$ ]]; then
    echo "idle-console: warm-up seconds must be a whole number, got '$warmup'" >&2
    exit 2
fi
if [ -n "$config" ] && [ ! -r "$config" ]; then
    echo "idle-console: cannot read the config file '$config'" >&2
    exit 2
fi
if [ ! -x "$binary" ]; then
    cmake --preset release >/dev/null
    cmake --build build/release -j2 --target vega-console >/dev/null
fi
if [ "$platform" = xcb ] && ! command -v xvfb-run >/dev/null; then
    echo "idle-console: xvfb-run not found; install xvfb or set VEGA_IDLE_PLATFORM=offscreen" >&2
    exit 2
fi

work=$(mktemp -d)
pids=()
cleanup() {
    # The consoles first (by the pids they wrote), then xvfb-run, which stops its X server.
    for f in "$work"/*.pid; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    sleep 1
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ticks_per_s=$(getconf CLK_TCK)
runs=(demo no-demo demo-headless)

# start NAME [extra arguments]: the console's pid goes to $work/NAME.pid.
start() {
    local name=$1
    shift
    mkdir -p "$work/$name/config" "$work/$name/data"
    # Fresh QSettings (page, refresh interval, geometry) so the run does not depend on the user's.
    local env=(env XDG_CONFIG_HOME="$work/$name/config")
    if [ "$platform" = offscreen ]; then
        "${env[@]}" QT_QPA_PLATFORM=offscreen sh -c 'echo $$ > "$0"; exec "$@"' "$work/$name.pid" \
            "$binary" --data-dir "$work/$name/data" "$@" >"$work/$name.log" 2>&1 &
    else
        "${env[@]}" xvfb-run -a -s "-screen 0 1600x1000x24" \
            sh -c 'echo $$ > "$0"; exec "$@"' "$work/$name.pid" \
            "$binary" --data-dir "$work/$name/data" "$@" >"$work/$name.log" 2>&1 &
    fi
    pids+=($!)
}

headless_seconds=$((warmup + minutes * 60 + 120))
if [ -n "$config" ]; then
    start demo --config "$config" --demo
    start no-demo --config "$config"
    start demo-headless --config "$config" --demo --headless --duration "$headless_seconds"
else
    start demo
    start no-demo --no-demo
    start demo-headless --headless --duration "$headless_seconds"
fi
for name in "${runs[@]}"; do
    for _ in $(seq 50); do
        [ -s "$work/$name.pid" ] && break
        sleep 0.1
    done
    if [ ! -s "$work/$name.pid" ]; then
        echo "idle-console: the $name console did not start:" >&2
        cat "$work/$name.log" >&2
        exit 2
    fi
done
declare -A pid
for name in "${runs[@]}"; do
    pid[$name]=$(cat "$work/$name.pid")
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
alive() {
    for name in "${runs[@]}"; do
        if ! kill -0 "${pid[$name]}" 2>/dev/null; then
            echo "idle-console: the $name console exited early:" >&2
            cat "$work/$name.log" >&2
            exit 2
        fi
    done
}

echo "idle-console: platform $platform, warm-up ${warmup} s, then ${minutes} min sampled every ${sample} s, config ${config:-default}"
sleep "$warmup"
alive
declare -A ticks0 rss0 peak last
start_ns=$(date +%s%N)
for name in "${runs[@]}"; do
    ticks0[$name]=$(cpu_ticks "${pid[$name]}")
    rss0[$name]=$(rss_kib "${pid[$name]}")
    peak[$name]=${rss0[$name]}
done
samples=$((minutes * 60 / sample))
for i in $(seq "$samples"); do
    sleep "$sample"
    alive
    now_ns=$(date +%s%N)
    line="idle-console: $((i * sample)) s"
    for name in "${runs[@]}"; do
        t=$(cpu_ticks "${pid[$name]}")
        r=$(rss_kib "${pid[$name]}")
        last[$name]=$r
        [ "$r" -gt "${peak[$name]}" ] && peak[$name]=$r
        pct=$(awk -v t="$((t - ticks0[$name]))" -v hz="$ticks_per_s" -v ns="$((now_ns - start_ns))" \
            'BEGIN { printf "%.2f", 100 * t / hz / (ns / 1e9) }')
        line+="  $name: cpu ${pct} % (mean so far), rss ${r} KiB"
    done
    echo "$line"
done
end_ns=$(date +%s%N)

status=0
declare -A final_pct
for name in "${runs[@]}"; do
    t=$(cpu_ticks "${pid[$name]}")
    r=${last[$name]:-$(rss_kib "${pid[$name]}")}
    pct=$(awk -v t="$((t - ticks0[$name]))" -v hz="$ticks_per_s" -v ns="$((end_ns - start_ns))" \
        'BEGIN { printf "%.2f", 100 * t / hz / (ns / 1e9) }')
    final_pct[$name]=$pct
    growth=$((r - rss0[$name]))
    echo "idle-console: $name: CPU ${pct} % of one core over ${minutes} min (target <= ${cpu_target})"
    echo "idle-console: $name: RSS after warm-up ${rss0[$name]} KiB, at the end ${r} KiB, peak ${peak[$name]} KiB: growth ${growth} KiB (target < ${rss_growth_target_kib})"
    cpu_ok=$(awk -v p="$pct" -v m="$cpu_target" 'BEGIN { print (p <= m) ? 1 : 0 }')
    if [ "$name" = no-demo ]; then
        [ "$cpu_ok" = 1 ] || { echo "idle-console: no-demo: CPU target missed"; status=1; }
        if [ "$growth" -ge "$rss_growth_target_kib" ]; then
            echo "idle-console: no-demo: memory not flat"
            status=1
        fi
    elif [ "$name" = demo ] && [ "$cpu_ok" != 1 ]; then
        echo "idle-console: demo: above ${cpu_target} % with the demo's traffic and backend in the process (reference only)"
    fi
done
echo "idle-console: the window's share with the demo: $(awk -v a="${final_pct[demo]}" -v b="${final_pct[demo-headless]}" \
    'BEGIN { printf "%.2f", a - b }') % of one core (demo window minus headless demo)"
[ $status -eq 0 ] && echo "idle-console: PASS" || echo "idle-console: FAIL"
exit $status
