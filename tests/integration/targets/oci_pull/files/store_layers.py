# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What a store holds of pulled images: its layers (each must be a read-only subvolume) and blobs.

    store_layers.py <store root>

Prints {"layers", "read_only_subvolumes", "blobs", "blob_bytes", "modes", "tmp"} as JSON.
"""

from __future__ import annotations

import json
import os
import stat
import sys

import btrfsutil


def main():
    root = sys.argv[1]
    layers_dir, blobs_dir = os.path.join(root, 'layers'), os.path.join(root, 'blobs', 'sha256')
    layers = sorted(os.listdir(layers_dir)) if os.path.isdir(layers_dir) else []
    read_only = [name for name in layers if btrfsutil.is_subvolume(os.path.join(layers_dir, name, 'rootfs'))
                 and btrfsutil.get_subvolume_read_only(os.path.join(layers_dir, name, 'rootfs'))]
    blobs = sorted(os.listdir(blobs_dir)) if os.path.isdir(blobs_dir) else []
    modes = {name: '%o' % stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
             for name in ('layers', 'blobs') if os.path.isdir(os.path.join(root, name))}
    print(json.dumps({'layers': len(layers), 'read_only_subvolumes': len(read_only), 'blobs': len(blobs),
                      'blob_bytes': sum(os.lstat(os.path.join(blobs_dir, name)).st_size for name in blobs),
                      'modes': modes, 'tmp': sorted(os.listdir(os.path.join(root, 'tmp')))}))


if __name__ == '__main__':
    main()
