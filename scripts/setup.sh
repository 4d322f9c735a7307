#!/usr/bin/env bash
# One-time (idempotent) setup for fanpin-forms, used by `make demo` and `make test`.
#
#   * system packages (Debian/Ubuntu, apt-get): LibreOffice Writer (headless),
#     Noto CJK fonts, poppler-utils, fontconfig, chromium (browser tests of the
#     web service), python3-venv if needed.
#     Installed only when missing; `apt-get update` only if something is missing.
#   * .venv with Python >= 3.11, `pip install -e ".[scan,test]"` and the bundled
#     county plugins (plugins/yueyang, plugins/pingjiang). Skipped while .venv/.stamp is newer than every pyproject.toml.
#
# Quiet on success (one status line per phase); on failure the captured output
# of the failing step is printed. Environment:
#   PYTHON=python3.12   interpreter used to create .venv (default: python3.11+ found on PATH)
#   VERBOSE=1           show all output
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.stamp"
LOG="$(mktemp -t fanpin-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: 错误 / error: %s\n' "$*" >&2; exit 1; }

# run CMD...: quiet unless VERBOSE=1; on failure print the captured output and stop.
run() {
    if [ "${VERBOSE:-0}" = 1 ]; then
        "$@" || die "command failed: $*"
        return 0
    fi
    if ! "$@" >"$LOG" 2>&1; then
        printf '\nsetup.sh: command failed: %s\n' "$*" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

# --- 1. system packages ------------------------------------------------------

is_installed() {
    dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    fi
fi

apt_get() {
    run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

venv_works() {
    local py="$1" tmp
    tmp="$(mktemp -d)"
    if "$py" -m venv "$tmp/v" >/dev/null 2>&1; then rm -rf "$tmp"; return 0; fi
    rm -rf "$tmp"; return 1
}

pick_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    local c
    for c in python3 python3.13 python3.12 python3.11; do
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$c"; return
        fi
    done
    echo python3
}

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=()
    if ! is_installed libreoffice-writer-nogui && ! is_installed libreoffice-writer; then
        missing+=(libreoffice-writer-nogui)
    fi
    for pkg in fonts-noto-cjk poppler-utils fontconfig chromium; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    py_for_venv="$(pick_python)"
    # Only probe `python -m venv` (slow: runs ensurepip) when .venv must be created.
    if [ ! -x "$VENV/bin/python" ] && command -v "$py_for_venv" >/dev/null 2>&1 &&
        ! venv_works "$py_for_venv"; then
        # Debian splits ensurepip out; the versioned package matches the interpreter.
        ver="$("$py_for_venv" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        missing+=(python3-venv "python${ver}-venv")
    fi

    if [ "${#missing[@]}" -eq 0 ]; then
        say "系统软件包已齐全 / system packages present (LibreOffice, Noto CJK, poppler, fontconfig, chromium)"
    else
        if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
            die "需要安装 / need to install: ${missing[*]} — 请以 root 运行或安装 sudo / run as root or install sudo"
        fi
        say "安装系统软件包 / installing system packages: ${missing[*]}"
        apt_get update
        # Older releases have no -nogui split: fall back to the full Writer package.
        if [[ " ${missing[*]} " == *" libreoffice-writer-nogui "* ]] &&
            ! apt-cache show libreoffice-writer-nogui >/dev/null 2>&1; then
            missing=("${missing[@]/libreoffice-writer-nogui/libreoffice-writer}")
        fi
        # pythonX.Y-venv may not exist as a separate package; drop it if unknown.
        pkgs=()
        for pkg in "${missing[@]}"; do
            if [[ "$pkg" == python3.*-venv ]] && ! apt-cache show "$pkg" >/dev/null 2>&1; then
                continue
            fi
            pkgs+=("$pkg")
        done
        apt_get install -y --no-install-recommends "${pkgs[@]}"
        say "系统软件包安装完成 / system packages installed"
    fi
else
    say "非 Debian/Ubuntu 系统，跳过软件包安装 / not Debian/Ubuntu: skipping apt (need soffice, Noto CJK fonts, pdffonts)"
fi

command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 ||
    [ -x /usr/lib/libreoffice/program/soffice ] ||
    die "找不到 LibreOffice (soffice) / LibreOffice not found after install"

# --- 2. virtual environment --------------------------------------------------

PY="$(pick_python)"
command -v "$PY" >/dev/null 2>&1 || die "找不到 Python 3.11+ / python3 not found"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    die "需要 Python 3.11 或更高版本，当前 $("$PY" -V 2>&1) / Python >= 3.11 required (set PYTHON=python3.11)"
fi

if [ -x "$VENV/bin/python" ] &&
    ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "现有 .venv 的 Python 版本过低，重新创建 / existing .venv is older than 3.11: recreating"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    say "创建虚拟环境 / creating .venv with $("$PY" -V 2>&1)"
    run "$PY" -m venv "$VENV"
    rm -f "$STAMP"
else
    say "虚拟环境已存在 / .venv exists ($("$VENV/bin/python" -V 2>&1))"
fi

# --- 3. Python packages ------------------------------------------------------

stamp_fresh() {
    [ -f "$STAMP" ] || return 1
    local f
    for f in pyproject.toml plugins/*/pyproject.toml; do
        [ -e "$f" ] || continue
        [ "$STAMP" -nt "$f" ] || return 1
    done
    return 0
}

if stamp_fresh; then
    say "Python 依赖已是最新 / Python packages up to date (.venv/.stamp)"
else
    say "安装 Python 依赖 / installing Python packages (pip install -e .[scan,test])"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    run "$VENV/bin/python" -m pip install --upgrade pip
    run "$VENV/bin/python" -m pip install -e ".[scan,test]"
    # the bundled county plugins (岳阳县, 平江县), each its own package
    for plugin in plugins/yueyang plugins/pingjiang; do
        if [ -d "$plugin" ]; then
            run "$VENV/bin/python" -m pip install -e "$plugin"
        fi
    done
    touch "$STAMP"
    say "Python 依赖安装完成 / Python packages installed"
fi

say "准备就绪 / setup complete"
