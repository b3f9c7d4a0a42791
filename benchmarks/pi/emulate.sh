#!/usr/bin/env bash
# Prove the edge package on an emulated Raspberry Pi: arm64 Debian 12 (bookworm), Python 3.11.
#
#   bash benchmarks/pi/emulate.sh          # as root (or with sudo): binfmt, mounts and chroot need it
#
# 1. builds (once, cached in $SER_PI_CACHE, default ~/.cache/ser-pi) an arm64 Debian bookworm root
#    file system with mmdebstrap, run through qemu-user-static + binfmt (QEMU_CPU=cortex-a72);
# 2. downloads the aarch64 wheels of the `edge`, `edge-legacy` and `mic` extras on the host
#    (pip download --platform ...), because pip resolving under emulation is slow;
# 3. in a fresh copy of that root, installs the project the way README tells a Pi user
#    (python3 -m venv; pip install ".[edge,mic]", then ".[edge-legacy,mic]" for tflite-runtime),
#    offline from those wheels;
# 4. runs benchmarks/pi/check.py there: no tensorflow/librosa installed, `classify --json` labels
#    with the bundled int8 and float32 models equal the x86 ones, `listen --input FILE --fast`
#    agrees too, and per-inference latency (emulated: only for relative comparison).
# The verdict goes to benchmarks/results/pi_emulated.json ($SER_PI_OUT); exit 1 on any difference.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SER_PI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ser-pi}
DATA=${RAVDESS_DIR:-$REPO/../shared/data/ravdess}
OUT=${SER_PI_OUT:-$REPO/benchmarks/results/pi_emulated.json}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HOST_PYTHON=${HOST_PYTHON:-$([ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3)}
CLIPS="Actor_20/03-01-03-02-01-02-20.flac Actor_21/03-01-04-02-01-01-21.flac
       Actor_22/03-01-05-01-01-01-22.flac Actor_19/03-01-06-01-02-02-19.flac"
# flavour:extras:backend -- the two interpreters a Pi user can install
FLAVOURS="litert:edge,mic:ai_edge_litert legacy:edge-legacy,mic:tflite_runtime"
# Debian 12 has glibc 2.36: every manylinux tag up to 2_36 installs there (tflite-runtime 2.14 is 2_34).
PLATFORMS="$(for v in 36 35 34 31 28 27 17; do printf -- '--platform manylinux_2_%s_aarch64 ' $v; done)
           --platform manylinux2014_aarch64 --platform linux_aarch64 --platform any"
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
T0=$(date +%s)
step() { echo "[pi +$(( $(date +%s) - T0 ))s] $*"; }
fail() { echo "pi emulation: $*" >&2; exit 1; }

[ -d "$DATA" ] || fail "no RAVDESS clips at $DATA (set RAVDESS_DIR)"
export DEBIAN_FRONTEND=noninteractive
if ! command -v mmdebstrap >/dev/null || [ ! -x /usr/bin/qemu-aarch64-static ] || ! command -v update-binfmts >/dev/null; then
  step "installing qemu-user-static, binfmt-support, mmdebstrap"
  $SUDO apt-get install -y -q qemu-user-static binfmt-support mmdebstrap >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q qemu-user-static binfmt-support mmdebstrap >/dev/null; }
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
$SUDO update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || fail "binfmt for qemu-aarch64 is not enabled"
export QEMU_CPU=cortex-a72
mkdir -p "$CACHE"

if [ ! -f "$CACHE/rootfs.tar" ]; then
  step "building the arm64 Debian bookworm root file system (mmdebstrap, a few minutes)"
  $SUDO mmdebstrap --quiet --format=tar --arch=arm64 --variant=apt \
    --include=python3,python3-venv,python3-pip,libportaudio2,ca-certificates \
    bookworm "$CACHE/rootfs.partial.tar" "$MIRROR"
  mv "$CACHE/rootfs.partial.tar" "$CACHE/rootfs.tar"
fi

requirements() {  # the requirement lines of setup.cfg's install_requires + the given extras
  python3 - "$REPO/setup.cfg" "$1" <<'PY'
import configparser, sys
cfg = configparser.ConfigParser(); cfg.read(sys.argv[1])
lines = cfg["options"]["install_requires"].splitlines()
for extra in sys.argv[2].split(","):
    lines += cfg["options.extras_require"][extra].splitlines()
print("\n".join(l.strip() for l in lines if l.strip() and not l.strip().startswith("#")))
PY
}
for f in $FLAVOURS; do
  IFS=: read -r name extras _ <<<"$f"
  requirements "$extras" > "$CACHE/requirements-$name.txt"
  if ! cmp -s "$CACHE/requirements-$name.txt" "$CACHE/wheels-$name/requirements.txt" 2>/dev/null; then
    step "downloading aarch64 wheels for .[$extras]"
    rm -rf "$CACHE/wheels-$name"
    python3 -m pip download -q --disable-pip-version-check --only-binary=:all: $PLATFORMS \
      --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
      --dest "$CACHE/wheels-$name" -r "$CACHE/requirements-$name.txt" "setuptools>=61" wheel \
      > "$CACHE/download-$name.log" 2>&1 \
      || { grep -v "^WARNING: Location" "$CACHE/download-$name.log" >&2; fail "pip download for .[$extras] failed"; }
    cp "$CACHE/requirements-$name.txt" "$CACHE/wheels-$name/requirements.txt"
  fi
done

ROOT="$CACHE/root"
cleanup() {
  for m in "$ROOT/dev" "$ROOT/proc"; do mountpoint -q "$m" && $SUDO umount -l "$m"; done
  return 0
}
trap cleanup EXIT
cleanup
step "fresh root from the cached image; copying the project, clips and wheels in"
$SUDO rm -rf "$ROOT" && mkdir -p "$ROOT" && $SUDO tar -xf "$CACHE/rootfs.tar" -C "$ROOT"
mkdir -p "$ROOT/home/pi/ser" "$ROOT/opt/clips"
git -C "$REPO" ls-files -z --cached --others --exclude-standard \
  | (cd "$REPO" && tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$ROOT/home/pi/ser"
for c in $CLIPS; do cp "$DATA/$c" "$ROOT/opt/clips/"; done
for f in $FLAVOURS; do cp -r "$CACHE/wheels-${f%%:*}" "$ROOT/opt/"; done
step "recording the x86 reference with $HOST_PYTHON"
"$HOST_PYTHON" "$REPO/benchmarks/pi/check.py" --clips "$ROOT/opt/clips" --record "$ROOT/opt/x86.json"
$SUDO mount -t proc proc "$ROOT/proc"     # /sys is deliberately not bound (DEVELOPERS.md)
$SUDO mount --bind /dev "$ROOT/dev"
[ "$($SUDO chroot "$ROOT" uname -m)" = aarch64 ] || fail "the chroot does not run as aarch64"

status=0
for f in $FLAVOURS; do
  IFS=: read -r name extras backend <<<"$f"
  step "$name: python3 -m venv && pip install \".[$extras]\" (offline wheels), then the checks"
  $SUDO chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root QEMU_CPU=cortex-a72 \
    PIP_NO_INDEX=1 PIP_FIND_LINKS="/opt/wheels-$name" PIP_DISABLE_PIP_VERSION_CHECK=1 /bin/sh -ec "
      cd /home/pi/ser
      python3 -m venv /opt/venv-$name
      /opt/venv-$name/bin/pip install -q '.[$extras]'
      /opt/venv-$name/bin/python benchmarks/pi/check.py --clips /opt/clips --expected /opt/x86.json \
        --backend $backend --runs 20 --out /opt/result-$name.json" || status=1
done

step "writing $OUT"
python3 - "$ROOT/opt" "$OUT" "$(( $(date +%s) - T0 ))" $FLAVOURS <<'PY'
import json, sys
from pathlib import Path
opt, out, seconds, flavours = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
report = {"note": "qemu-user emulation of arm64 (QEMU_CPU=cortex-a72) on an x86 host: latencies are "
                  "for relative comparison only, not Raspberry Pi figures",
          "seconds": seconds, "x86": json.loads((opt / "x86.json").read_text())}
for f in flavours:
    name = f.split(":")[0]
    path = opt / f"result-{name}.json"
    report[name] = json.loads(path.read_text()) if path.exists() else {"agrees_with_x86": False, "error": "no result"}
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(report, indent=2) + "\n")
PY
[ "$status" = 0 ] && step "done: the emulated Pi agrees with x86" || fail "the emulated Pi disagrees with x86 or failed (see above)"
