# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Put layers, blobs and image layer lists into a test store as a pull lays them out (docs/design.md,
"Image layers (OCI)"), with the btrfs CLI, for dockerlite_prune to find. Prints JSON.

  store_objects.py layer ROOT PARENT_CHAIN_ID|none SIZE   a layer whose blob (SIZE random bytes) is also a file
                                                          in its rootfs, on a snapshot of its parent
  store_objects.py blob ROOT SIZE                         a blob no one names
  store_objects.py image-layers ROOT IMAGE_ID JSON        set image.json's layers and oci fields
"""

import hashlib
import json
import os
import subprocess
import sys


def write_blob(root, data):
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    directory = os.path.join(root, 'blobs', 'sha256')
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(os.path.join(directory, digest[7:]), 'wb') as handle:
        handle.write(data)
    return digest


def btrfs(*args):
    subprocess.run(('btrfs', '-q') + args, check=True, stdout=subprocess.DEVNULL)


def make_layer(root, parent, size):
    data = os.urandom(size)
    digest = write_blob(root, data)
    # The blob stands for an uncompressed layer here, so its digest is also the diff id.
    chain_id = digest if parent == 'none' else 'sha256:' + hashlib.sha256(
        ('%s %s' % (parent, digest)).encode()).hexdigest()
    directory = os.path.join(root, 'layers', chain_id[7:])
    os.makedirs(directory, mode=0o700)
    rootfs = os.path.join(directory, 'rootfs')
    if parent == 'none':
        btrfs('subvolume', 'create', rootfs)
    else:
        btrfs('subvolume', 'snapshot', os.path.join(root, 'layers', parent[7:], 'rootfs'), rootfs)
    with open(os.path.join(rootfs, 'layer-' + digest[7:19]), 'wb') as handle:
        handle.write(data)
    btrfs('property', 'set', '-ts', rootfs, 'ro', 'true')
    meta = {'chain_id': chain_id, 'diff_id': digest, 'digest': digest, 'size': size,
            'media_type': 'application/vnd.oci.image.layer.v1.tar', 'parent': None if parent == 'none' else parent}
    with open(os.path.join(directory, 'layer.json'), 'w') as handle:
        json.dump(meta, handle)
    return meta


def set_image_layers(root, image_id, fields):
    path = os.path.join(root, 'images', image_id, 'image.json')
    with open(path) as handle:
        meta = json.load(handle)
    meta.update(fields)
    with open(path + '.new', 'w') as handle:
        json.dump(meta, handle)
    os.chmod(path + '.new', 0o600)
    os.replace(path + '.new', path)
    return meta


def main(argv):
    if argv[0] == 'layer':
        result = make_layer(argv[1], argv[2], int(argv[3]))
    elif argv[0] == 'blob':
        result = {'digest': write_blob(argv[1], os.urandom(int(argv[2]))), 'size': int(argv[2])}
    else:
        result = set_image_layers(argv[1], argv[2], json.loads(argv[3]))
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv[1:])
