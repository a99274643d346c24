# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The file format of an image shipped between stores: a header, a btrfs send stream, a trailer.

::

    DOCKERLITE-IMAGE-STREAM 1\\n
    8 bytes, big-endian: length of the header
    header: JSON {version, image (image.json), origin, parent: null or {id, origin}}
    the ``btrfs send`` stream of the image's rootfs, full or incremental from ``parent``
    8 bytes, big-endian: length of the send stream; 32 bytes: its sha256
    DOCKERLITE-IMAGE-STREAM-END\\n

``origin`` names the rootfs subvolume across hosts: the uuid of the subvolume it was first
made as (its ``received_uuid`` once received, else its own ``uuid``). An incremental stream
can only be received where an image with the parent's origin exists. The trailer comes last
because the length and digest are known only once ``btrfs send`` has finished; a file cut
short loses its trailer, a changed byte its digest, and either is refused before or while
the stream is received, never made into an image. Pure: no client calls here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

MAGIC = b'DOCKERLITE-IMAGE-STREAM 1\n'
END = b'DOCKERLITE-IMAGE-STREAM-END\n'
LENGTH = struct.Struct('>Q')
TRAILER = LENGTH.size + 32 + len(END)
MAX_HEADER = 16 << 20
CHUNK = 1 << 20
VERSION = 1
HEX32_RE = re.compile(r'[0-9a-f]{32}')
ID_RE = re.compile(r'[0-9a-f]{64}')


class StreamError(DockerliteError):
    """A file that is not a whole, sound image stream."""

    def __init__(self, path, problem):
        super().__init__('image stream %s: %s' % (path, problem), path=path)


def header_for(image, origin, parent=None, parent_origin=None):
    """The header of a stream of ``image`` (its metadata), incremental from image ``parent`` if given."""
    return {'version': VERSION, 'image': {k: v for k, v in image.items() if k != 'rootfs'}, 'origin': origin,
            'parent': {'id': parent['id'], 'origin': parent_origin} if parent else None}


def write_stream(handle, header, produce):
    """Write a whole stream to the binary file ``handle``: ``produce(write)`` passes the btrfs
    send stream to ``write`` in chunks. Returns (length, 'sha256:<hex>') of the send stream."""
    data = json.dumps(header, sort_keys=True).encode('utf-8')
    handle.write(MAGIC + LENGTH.pack(len(data)) + data)
    digest = hashlib.sha256()
    size = [0]

    def write(chunk):
        digest.update(chunk)
        size[0] += len(chunk)
        handle.write(chunk)

    produce(write)
    handle.write(LENGTH.pack(size[0]) + digest.digest() + END)
    return size[0], 'sha256:' + digest.hexdigest()


def _check_header(header, path):
    if not isinstance(header, dict) or header.get('version') != VERSION:
        raise StreamError(path, 'header version %s is not %d' % (json.dumps(header.get('version') if isinstance(
            header, dict) else None), VERSION))
    image = header.get('image')
    if not isinstance(image, dict) or not isinstance(image.get('id'), str) or not ID_RE.fullmatch(image['id']):
        raise StreamError(path, 'the header names no image id of 64 hexadecimal digits')
    if image.get('name') is not None and not isinstance(image['name'], str):
        raise StreamError(path, 'the image name in the header is not a string')
    if not isinstance(header.get('origin'), str) or not HEX32_RE.fullmatch(header['origin']):
        raise StreamError(path, 'the header has no origin (32 hexadecimal digits)')
    parent = header.get('parent')
    if parent is not None and not (
            isinstance(parent, dict) and isinstance(parent.get('id'), str) and ID_RE.fullmatch(parent['id'])
            and isinstance(parent.get('origin'), str) and HEX32_RE.fullmatch(parent['origin'])):
        raise StreamError(path, 'the header names a parent without a sound id and origin')
    return header


def read_header(path):
    """(header, offset, length, 'sha256:<hex>') of the stream file ``path``, with its framing checked:
    the send stream is ``length`` bytes at ``offset``. StreamError for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise StreamError(path, 'cannot open it: %s' % exc.strerror)
    with os.fdopen(fd, 'rb') as handle:
        info = os.fstat(handle.fileno())
        if not (info.st_mode & 0o170000) == 0o100000:
            raise StreamError(path, 'not a regular file')
        start = handle.read(len(MAGIC) + LENGTH.size)
        if start[:len(MAGIC)] != MAGIC:
            raise StreamError(path, 'not a dockerlite image stream (no %s marker at its start)'
                              % MAGIC.decode().strip())
        if len(start) < len(MAGIC) + LENGTH.size:
            raise StreamError(path, 'truncated: the file ends in its header')
        header_length = LENGTH.unpack(start[len(MAGIC):])[0]
        offset = len(start) + header_length
        if header_length > MAX_HEADER or offset + TRAILER > info.st_size:
            raise StreamError(path, 'truncated: the file is %d bytes, too short for its header (%d) and trailer'
                              % (info.st_size, header_length))
        try:
            header = json.loads(handle.read(header_length).decode('utf-8'))
        except ValueError as exc:
            raise StreamError(path, 'its header is not JSON: %s' % exc)
        handle.seek(info.st_size - TRAILER)
        trailer = handle.read(TRAILER)
    if trailer[-len(END):] != END:
        raise StreamError(path, 'truncated: it has no end marker')
    length = LENGTH.unpack(trailer[:LENGTH.size])[0]
    if offset + length + TRAILER != info.st_size:
        raise StreamError(path, 'truncated or padded: its trailer says %d bytes of send stream, the file holds %d'
                          % (length, info.st_size - offset - TRAILER))
    digest = 'sha256:' + trailer[LENGTH.size:LENGTH.size + 32].hex()
    return _check_header(header, path), offset, length, digest


def stream_chunks(path, offset, length, digest):
    """Yield the send stream of ``path`` in chunks; StreamError at its end if its sha256 is not ``digest``
    (raised inside the receiver's feed, so the received subvolume is thrown away with its staging)."""
    hasher = hashlib.sha256()
    with open(path, 'rb') as handle:
        handle.seek(offset)
        left = length
        while left:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                raise StreamError(path, 'truncated: it ended %d bytes early' % left)
            hasher.update(chunk)
            left -= len(chunk)
            yield chunk
    if 'sha256:' + hasher.hexdigest() != digest:
        raise StreamError(path, 'corrupt: the sha256 of its send stream is not %s' % digest)
