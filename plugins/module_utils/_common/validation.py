# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Pure parsing and validation of user input.

Every function either returns a normalised value or raises ValidationError with
the bad value in the message. Nothing here touches the disk, so the checks run
before anything in the store is touched.
"""

from __future__ import annotations

import math
import posixpath
import re
import shlex

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError

IMAGE_NAME_RE = re.compile(r'[a-z0-9][a-z0-9_.-]*')
IMAGE_TAG_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*')
CONTAINER_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*')
ENV_NAME_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
# One part of a user (``name`` or ``uid``, ``group`` or ``gid``), as useradd and Docker accept them.
USER_PART_RE = re.compile(r'[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?')
HOSTNAME_LABEL_RE = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
# Name patterns are applied with fullmatch: "$" would also match before a final newline.
# C0 controls but tab, and DEL: none of these may reach an LXC config line.
CONTROL_RE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
SIZE_RE = re.compile(r' *(\d+(?:\.\d+)?) *([kmgtp]?)(?:i?b)? *', re.IGNORECASE)

IMAGE_NAME_MAX = 128
IMAGE_TAG_MAX = 128
CONTAINER_NAME_MAX = 64
DEFAULT_TAG = 'latest'

# Linux capabilities, as LXC spells them in lxc.cap.drop / lxc.cap.keep.
KNOWN_CAPABILITIES = (
    'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill',
    'setgid', 'setuid', 'setpcap', 'linux_immutable', 'net_bind_service',
    'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
    'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct',
    'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time',
    'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control',
    'setfcap', 'mac_override', 'mac_admin', 'syslog', 'wake_alarm',
    'block_suspend', 'audit_read', 'perfmon', 'bpf', 'checkpoint_restore',
)
ALL_CAPABILITIES = 'all'


def _show(value):
    """Render a bad value for an error message so that newlines stay visible."""
    return repr(value)


def check_no_control_chars(value, what):
    """Refuse control characters (newline, NUL, ...) in a value bound for LXC's config."""
    if CONTROL_RE.search(value):
        raise ValidationError('%s %s contains a control character (newline, NUL or similar), '
                              'which LXC configuration cannot hold' % (what, _show(value)))
    return value


def parse_image_ref(value, what='image'):
    """Split ``name[:tag]`` into (name, tag); the tag defaults to ``latest``."""
    if not isinstance(value, str) or not value:
        raise ValidationError('%s name must be a non-empty string, got %s' % (what, _show(value)))
    name, sep, tag = value.partition(':')
    if not sep:
        tag = DEFAULT_TAG
    if not IMAGE_NAME_RE.fullmatch(name) or '..' in name or len(name) > IMAGE_NAME_MAX:
        raise ValidationError(
            '%s name %s is invalid: use lower-case letters, digits, "_", "." and "-", '
            'starting with a letter or digit, no "..", at most %d characters, '
            'optionally followed by ":tag"' % (what, _show(value), IMAGE_NAME_MAX))
    if not IMAGE_TAG_RE.fullmatch(tag) or '..' in tag or len(tag) > IMAGE_TAG_MAX:
        raise ValidationError(
            '%s tag in %s is invalid: use letters, digits, "_", "." and "-", starting with a '
            'letter, digit or "_", no "..", at most %d characters' % (what, _show(value), IMAGE_TAG_MAX))
    return name, tag


def image_ref(value, what='image'):
    """Return the canonical ``name:tag`` string for an image reference."""
    return '%s:%s' % parse_image_ref(value, what)


def validate_container_name(value, what='container name'):
    if (not isinstance(value, str) or not CONTAINER_NAME_RE.fullmatch(value) or '..' in value
            or len(value) > CONTAINER_NAME_MAX):
        raise ValidationError(
            '%s %s is invalid: use letters, digits, "_", "." and "-", starting with a letter '
            'or digit, no "..", at most %d characters' % (what, _show(value), CONTAINER_NAME_MAX))
    return value


def normalize_command(value, what='command'):
    """Return a command as an argv list; a string is split like a shell would (shlex)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ValidationError('%s %s cannot be split into arguments: %s' % (what, _show(value), exc))
    elif isinstance(value, (list, tuple)):
        argv = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise ValidationError('%s argument %s must be a string' % (what, _show(item)))
            argv.append(str(item))
    else:
        raise ValidationError('%s must be a list of arguments or a string, got %s' % (what, _show(value)))
    if not argv or not argv[0]:
        raise ValidationError('%s %s is empty' % (what, _show(value)))
    for item in argv:
        if '\x00' in item:
            raise ValidationError('%s argument %s contains a NUL byte' % (what, _show(item)))
    return argv


def validate_timeout(value, what='timeout'):
    """Seconds a command may run, as a float (an int is fine); None means no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError('%s %s must be a positive number of seconds' % (what, _show(value)))
    return float(value)


def validate_stop_timeout(value, what='stop_timeout'):
    """Whole seconds to wait for a graceful stop (0: kill at once); None means the default."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError('%s %s must be a whole number of seconds, 0 or more' % (what, _show(value)))
    return value


def _string_value(value, what):
    if isinstance(value, bool):
        raise ValidationError('%s is the boolean %s; quote it to pass a string' % (what, _show(value)))
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ValidationError('%s must be a string, got %s' % (what, _show(value)))
    return value


def normalize_env(value):
    """Validate environment variables that go into ``lxc.environment`` lines."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError('env must be a dictionary, got %s' % _show(value))
    env = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not ENV_NAME_RE.fullmatch(key):
            raise ValidationError('env name %s is invalid: use letters, digits and "_", '
                                  'not starting with a digit' % _show(key))
        text = _string_value(raw, 'env value of %s' % key)
        check_no_control_chars(text, 'env value of %s,' % key)
        if text != text.rstrip():
            raise ValidationError('env value of %s, %s, ends in white space, which LXC would '
                                  'strip' % (key, _show(text)))
        env[key] = text
    return env


def normalize_labels(value):
    """Labels are free-form metadata; keys and values are strings without control characters."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError('labels must be a dictionary, got %s' % _show(value))
    labels = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError('label name %s must be a non-empty string' % _show(key))
        check_no_control_chars(key, 'label name')
        text = _string_value(raw, 'label %s' % key)
        check_no_control_chars(text, 'label %s value' % key)
        labels[key] = text
    return labels


def _clean_abs_path(value, what):
    if not isinstance(value, str) or not value.startswith('/'):
        raise ValidationError('%s %s must be an absolute path' % (what, _show(value)))
    check_no_control_chars(value, what)
    if '..' in value.split('/'):
        raise ValidationError('%s %s must not contain ".."' % (what, _show(value)))
    # normpath keeps a leading "//" (POSIX leaves its meaning open); here it is "/", so that
    # "//" is the root and "//x" the same target as "/x".
    return '/' + posixpath.normpath(value).lstrip('/')


def normalize_workdir(value, what='workdir'):
    """An absolute directory in the container (normalised), or None; it becomes lxc.init.cwd."""
    if value is None:
        return None
    path = _clean_abs_path(value, what)
    if path != path.strip():
        raise ValidationError('%s %s must not begin or end with white space' % (what, _show(value)))
    return path


def parse_user(value, what='user'):
    """``name``, ``uid``, ``name:group`` or ``uid:gid`` (mixed too) as (user, group), numbers as int."""
    if value is None:
        return None, None
    text = str(value)
    parts = text.split(':')
    if len(parts) > 2 or not all(USER_PART_RE.fullmatch(part) for part in parts):
        raise ValidationError('%s %s is invalid: use name, uid, name:group or uid:gid' % (what, _show(value)))
    user, group = [int(part) if part.isdigit() else part for part in parts] + [None] * (2 - len(parts))
    return user, group


def normalize_user(value, what='user'):
    """The ``user`` option as a checked string (``name``, ``uid``, ``name:group``, ``uid:gid``), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError('%s %s must be a string such as nobody, 1000 or 1000:1000' % (what, _show(value)))
    parse_user(value, what)
    return str(value)


def normalize_mounts(value):
    """Return mounts as a list of {source, target, read_only}, in the order given.

    ``idmap: true`` adds ``idmap: True``; the key is left out otherwise, so that the
    mounts of containers made before it existed compare equal.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError('mounts must be a list, got %s' % _show(value))
    mounts = []
    targets = set()
    for item in value:
        if not isinstance(item, dict):
            raise ValidationError('each mount must be a dictionary, got %s' % _show(item))
        unknown = set(item) - {'source', 'target', 'read_only', 'idmap'}
        if unknown:
            raise ValidationError('mount %s has unknown keys: %s' % (_show(item), ', '.join(sorted(unknown))))
        source = _clean_abs_path(item.get('source'), 'mount source')
        target = _clean_abs_path(item.get('target'), 'mount target')
        if target == '/':
            raise ValidationError('mount target %s must not be the root directory' % _show(item.get('target')))
        if target in targets:
            raise ValidationError('mount target %s is given twice' % _show(target))
        targets.add(target)
        read_only = item.get('read_only', False)
        if not isinstance(read_only, bool):
            raise ValidationError('mount read_only for %s must be a boolean, got %s' % (target, _show(read_only)))
        idmap = item.get('idmap', False)
        if idmap is None:
            idmap = False
        if not isinstance(idmap, bool):
            raise ValidationError('mount idmap for %s must be a boolean, got %s' % (target, _show(idmap)))
        mount = {'source': source, 'target': target, 'read_only': read_only}
        if idmap:
            mount['idmap'] = True
        mounts.append(mount)
    return mounts


def validate_hostname(value):
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 253 or not all(
            HOSTNAME_LABEL_RE.fullmatch(label) for label in value.split('.')):
        raise ValidationError('hostname %s is invalid: use dot-separated labels of letters, '
                              'digits and "-", at most 253 characters' % _show(value))
    return value


def parse_size(value, what):
    """Parse a byte size such as 536870912, "512m", "1g" or "1.5GiB" (powers of 1024)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError('%s %s is not a size' % (what, _show(value)))
    if isinstance(value, int):
        number, unit = value, ''
    else:
        match = SIZE_RE.fullmatch(str(value))
        if not match:
            raise ValidationError('%s %s is not a size such as 512m or 1g' % (what, _show(value)))
        number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * 1024 ** ' kmgtp'.index(unit or ' '))
    if size <= 0:
        raise ValidationError('%s %s must be greater than zero' % (what, _show(value)))
    return size


# disk_limit values that remove the limit (left out, the option keeps the container's limit).
NO_DISK_LIMIT = ('none', '0')


def parse_disk_limit(value):
    """None (keep the limit), 0 (remove it: ``none`` or ``0``) or a byte size parsed like memory."""
    if value is None:
        return None
    if str(value).strip().lower() in NO_DISK_LIMIT:
        return 0
    return parse_size(value, 'disk_limit')


def parse_cpus(value):
    if value is None:
        return None
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise ValidationError('cpus %s is not a number' % _show(value))
    # The kernel refuses a CFS quota below 1 ms of its 100 ms period.
    if isinstance(value, bool) or math.isnan(cpus) or cpus < 0.01 or cpus > 4096:
        raise ValidationError('cpus %s must be a number from 0.01 to 4096' % _show(value))
    return cpus


def validate_pids_limit(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError('pids_limit %s must be a whole number greater than 0' % _show(value))
    return value


def normalize_capabilities(value, what):
    """Lower-case capability names without a ``CAP_`` prefix, sorted; ``all`` allowed."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError('%s must be a list, got %s' % (what, _show(value)))
    caps = set()
    for item in value:
        name = item.lower() if isinstance(item, str) else item
        if isinstance(name, str) and name.startswith('cap_'):
            name = name[4:]
        if name != ALL_CAPABILITIES and name not in KNOWN_CAPABILITIES:
            raise ValidationError('%s entry %s is not a Linux capability' % (what, _show(item)))
        caps.add(name)
    return sorted(caps)
