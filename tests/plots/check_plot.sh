#!/usr/bin/env bash
# check_plot.sh -- the checks behind the `plots:` tests (tests/plots.cmake). One check per call:
#
#   check_plot.sh render SCRIPT INPUT WORK         the script draws INPUT into a real PNG
#   check_plot.sh plot-all FIXTURE_RUN WORK        plot.sh draws all nine pictures of a run folder
#                                                  (signals skipped: its steps.csv has no signal columns)
#   check_plot.sh plot-signals FIXTURE_DIR WORK    a steps.csv with signal columns: grad_*, signals drawn
#   check_plot.sh plot-svg FIXTURE_RUN WORK        plot.sh --svg writes SVG files
#   check_plot.sh plot-term FIXTURE_RUN WORK       plot.sh --term prints both curves as text
#   check_plot.sh plot-partial FIXTURE_RUN WORK    only history.csv: 3 drawn, the rest skipped with reasons
#   check_plot.sh plot-missing-dir WORK            a missing run folder: its name, non-zero exit
#   check_plot.sh plot-empty-dir WORK              a run folder without usable files: non-zero exit
#   check_plot.sh plot-no-gnuplot WORK             no gnuplot on PATH: the apt-get line, non-zero exit
#   check_plot.sh script-missing-input SCRIPT WORK a script given a missing file: its name, non-zero exit
#   check_plot.sh weights-128 WORK                 weights.gp lays out H = 128 units as 16 x 8 tiles
#
# Environment: PLOTS_DIR (tools/plots) and PLOT_SH (tools/plot.sh). Exit 0 = pass, 1 = fail,
# 77 = skipped because gnuplot is not installed.
set -euo pipefail

: "${PLOTS_DIR:?set PLOTS_DIR to tools/plots}" "${PLOT_SH:?set PLOT_SH to tools/plot.sh}"
MIN_BYTES=20000   # an empty frame with axes and a title is ~13 KB; every real picture here is > 25 KB

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $# -ge 2 ]] || fail "usage: check_plot.sh CHECK ARGS... (see the top of this file)"
check="$1"; shift
if [[ "$check" != plot-no-gnuplot ]] && ! command -v gnuplot > /dev/null 2>&1; then
  echo "gnuplot is not installed (apt-get install gnuplot-nox): skipping" >&2
  exit 77
fi

# is_png FILE: the 8-byte PNG signature, more than MIN_BYTES bytes, and width/height from the header.
is_png() {
  local file="$1"
  [[ -f "$file" ]] || fail "no file $file"
  local sig size
  sig=$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')
  [[ "$sig" == "89504e470d0a1a0a" ]] || fail "$file is not a PNG (first bytes: $sig)"
  size=$(wc -c < "$file")
  [[ "$size" -gt "$MIN_BYTES" ]] || fail "$file is only $size bytes (expected > $MIN_BYTES): an empty picture?"
  echo "ok: $file is a PNG of $size bytes, $(png_size "$file") pixels"
}
# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk (bytes 16..23, big-endian).
png_size() {
  local w h
  w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  echo "${w}x${h}"
}
fresh() { rm -rf "$1"; mkdir -p "$1"; }

case "$check" in
  render)
    script="$1"; input="$2"; work="$3"
    fresh "$work"
    out="$work/$(basename "$script" .gp).png"
    gnuplot -e "in='$input'; out='$out'; fmt='png'" "$PLOTS_DIR/$script" || fail "gnuplot $script failed on $input"
    is_png "$out"
    ;;

  plot-all)
    run="$2"; fresh "$run"; cp "$1"/*.csv "$run"/
    "$PLOT_SH" "$run" | tee "$run/plot.log" || fail "plot.sh failed"
    for name in loss accuracy loss_accuracy grad_stats grad_norms confusion misclassified digits weights; do
      is_png "$run/plots/$name.png"
    done
    [[ $(grep -c '^drew' "$run/plot.log") -eq 9 ]] || fail "plot.sh did not report 9 pictures drawn"
    # The fixture's steps.csv predates the signal columns: signals.png is skipped, saying why.
    grep -q '^skipped  signals.png: steps.csv has no act_std/dz_std columns' "$run/plot.log" ||
      fail "plot.sh did not skip signals.png for a steps.csv without act_std/dz_std"
    ;;

  plot-signals)
    run="$2"; fresh "$run"; cp "$1"/steps.csv "$run"/
    "$PLOT_SH" "$run" | tee "$run/plot.log" || fail "plot.sh failed"
    for name in grad_stats grad_norms signals; do
      is_png "$run/plots/$name.png"
    done
    [[ $(grep -c '^drew' "$run/plot.log") -eq 3 ]] || fail "plot.sh did not report 3 pictures drawn from steps.csv"
    ;;

  plot-svg)
    run="$2"; fresh "$run"; cp "$1"/*.csv "$run"/
    "$PLOT_SH" "$run" --svg || fail "plot.sh --svg failed"
    count=0
    for f in "$run"/plots/*.svg; do
      grep -q '<svg' "$f" || fail "$f is not an SVG"
      count=$((count + 1))
    done
    [[ $count -eq 9 ]] || fail "expected 9 SVG files, found $count"
    echo "ok: 9 SVG files"
    ;;

  plot-term)
    run="$2"; fresh "$run"; cp "$1"/history.csv "$run"/
    text=$("$PLOT_SH" "$run" --term) || fail "plot.sh --term failed"
    printf '%s\n' "$text"
    grep -q 'Loss per epoch' <<< "$text" || fail "--term printed no loss curve"
    grep -q 'Accuracy per epoch' <<< "$text" || fail "--term printed no accuracy curve"
    [[ $(grep -c '\*' <<< "$text") -gt 10 ]] || fail "--term printed no curve points"
    [[ ! -d "$run/plots" ]] || fail "--term must not write pictures"
    ;;

  plot-partial)
    run="$2"; fresh "$run"; cp "$1"/history.csv "$run"/
    log=$("$PLOT_SH" "$run") || fail "plot.sh failed although history.csv is there"
    printf '%s\n' "$log"
    [[ $(grep -c '^drew' <<< "$log") -eq 3 ]] || fail "expected 3 pictures from history.csv alone"
    [[ $(grep -c '^skipped' <<< "$log") -eq 7 ]] || fail "expected 7 skipped pictures"
    grep -q 'no steps.csv (written by: chainrule train --log-grads EVERY)' <<< "$log" || fail "the skip note for steps.csv is missing"
    grep -q 'no confusion.csv (written by: chainrule evaluate)' <<< "$log" || fail "the skip note for confusion.csv is missing"
    grep -q 'no weights1.csv (written by: chainrule export)' <<< "$log" || fail "the skip note for weights1.csv is missing"
    is_png "$run/plots/loss_accuracy.png"
    ;;

  plot-missing-dir)
    work="$1"; fresh "$work"
    missing="$work/no-such-run"
    if msg=$("$PLOT_SH" "$missing" 2>&1); then fail "plot.sh succeeded on a missing folder"; fi
    printf '%s\n' "$msg"
    grep -qF "$missing" <<< "$msg" || fail "the message does not name '$missing'"
    ;;

  plot-empty-dir)
    work="$1"; fresh "$work"
    printf 'epoch,loss,accuracy,val_loss,val_accuracy,seconds\n' > "$work/history.csv"   # header only
    if msg=$("$PLOT_SH" "$work" 2>&1); then fail "plot.sh succeeded without any usable file"; fi
    printf '%s\n' "$msg"
    grep -q 'nothing to draw' <<< "$msg" || fail "no 'nothing to draw' message"
    grep -q 'history.csv has no data rows' <<< "$msg" || fail "the empty history.csv is not named"
    ;;

  plot-no-gnuplot)
    work="$1"; fresh "$work"; mkdir -p "$work/bin" "$work/run"
    # A PATH with only what plot.sh needs before it looks for gnuplot.
    for tool in dirname; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
    if msg=$(PATH="$work/bin" "$(command -v bash)" "$PLOT_SH" "$work/run" 2>&1); then fail "plot.sh succeeded without gnuplot"; fi
    printf '%s\n' "$msg"
    grep -q 'apt-get install gnuplot-nox' <<< "$msg" || fail "the message does not give the apt-get line"
    ;;

  script-missing-input)
    script="$1"; work="$2"; fresh "$work"
    missing="$work/missing.csv"
    if msg=$(gnuplot -e "in='$missing'; out='$work/x.png'" "$PLOTS_DIR/$script" 2>&1); then fail "$script succeeded on a missing file"; fi
    printf '%s\n' "$msg"
    grep -qF "$missing" <<< "$msg" || fail "the message does not name '$missing'"
    if msg=$(gnuplot "$PLOTS_DIR/$script" 2>&1); then fail "$script succeeded without in=..."; fi
    grep -q "in='" <<< "$msg" || fail "without in=..., $script does not say how to call it"
    ;;

  weights-128)
    work="$1"; fresh "$work"
    # A made-up W1 (784, 128): unit j is a stripe pattern whose angle depends on j.
    awk 'BEGIN { for (j = 0; j < 128; j++) printf "%sh%d", (j ? "," : ""), j; print "";
                 for (k = 0; k < 784; k++) { r = int(k / 28); c = k % 28;
                   for (j = 0; j < 128; j++) printf "%s%.4f", (j ? "," : ""), 0.1 * sin((r * cos(j / 20.0) + c * sin(j / 20.0)) / 2.0);
                   print "" } }' > "$work/weights1.csv"
    out="$work/weights.png"
    gnuplot -e "in='$work/weights1.csv'; out='$out'" "$PLOTS_DIR/weights.gp" || fail "weights.gp failed on H = 128"
    is_png "$out"
    # 16 x 8 tiles of 60 screen pixels plus margins: 200 + 16*60 wide, 120 + 8*60 high.
    [[ "$(png_size "$out")" == "1160x600" ]] || fail "expected a 1160x600 picture (16 x 8 tiles), got $(png_size "$out")"
    ;;

  *) fail "unknown check '$check'" ;;
esac
