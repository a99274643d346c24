#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_image_push
short_description: Push a dockerlite image to a container registry
version_added: 0.1.0
description:
  - Pushes a local image to a registry as an OCI image, through C(skopeo).
  - An image pulled from a registry is pushed with its original layers, config and manifest (the same digests).
  - An image committed from a container is pushed as its parent image's layers plus one layer holding exactly what
    the commit changed (added and modified files, deleted ones as whiteouts), computed from the btrfs send stream
    between the parent and the commit, so a small change on a large base sends a small layer. Any other image
    (built from busybox, debootstrap, a tarball or a directory, or a commit whose parent is gone) is one layer of
    its whole root filesystem.
  - Layers that dockerlite makes are kept in the store and recorded in the image, so pushing it again sends the
    same bytes. Making them is the action V(make_layers).
  - Idempotent, when the registry already holds the image's manifest under O(ref) (one manifest request), nothing
    is pushed.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  check_mode:
    support: full
    details: Check mode asks the registry for its manifest (a read) and makes no layer; the digests of layers still
      to be made are then V(null).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description: The local image, V(name:tag) (the tag defaults to V(latest)) or its image id.
    type: str
    required: true
  ref:
    description:
      - Where to push, V(registry.example:5000/team/app:1.2); a V(docker://) prefix is accepted. The tag defaults
        to V(latest).
      - Defaults to O(name) (which then names a repository on Docker Hub); required when O(name) is an image id.
    type: str
  tls_verify:
    description: Require HTTPS and a certificate the host (or O(ca_file)) trusts.
    type: bool
    default: true
  ca_file:
    description: A PEM file of the CA that signed the registry's certificate.
    type: path
  username:
    description: User name at the registry; with O(password). Never passed on a command line.
    type: str
  password:
    description: Password for O(username). Written to an auth file only root can read, for the one call.
    type: str
  auth_file:
    description: A containers-auth.json(5) file with credentials; exclusive with O(username).
    type: path
requirements:
  - C(skopeo) on the managed host (the C(dockerlite_prerequisites) role installs it).
seealso:
  - module: dockerlite.core.dockerlite_image_export
  - module: dockerlite.core.dockerlite_commit
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Push a committed image to a local registry over plain HTTP
  dockerlite.core.dockerlite_image_push:
    name: web:v1
    ref: 127.0.0.1:5000/team/web:v1
    tls_verify: false

- name: Push with credentials and a private CA
  dockerlite.core.dockerlite_image_push:
    name: web:v1
    ref: registry.example:5000/team/web:v1
    ca_file: /etc/pki/registry-ca.pem
    username: ci
    password: "{{ registry_password }}"
'''

RETURN = r'''
image:
  description: The local image pushed.
  returned: always
  type: dict
  contains:
    name:
      description: V(name:tag), or V(null) for an untagged image.
      type: str
    id:
      description: Image id.
      type: str
reference:
  description: Where the image was pushed (or would be), with its tag.
  returned: always
  type: str
  sample: 127.0.0.1:5000/team/web:v1
manifest_digest:
  description: Digest of the image's manifest, the same as the registry's; V(null) in check mode while layers are
    still to be made.
  returned: always
  type: str
  sample: sha256:4a5b...
config_digest:
  description: Digest of the image's config blob; V(null) as RV(manifest_digest).
  returned: always
  type: str
layers:
  description: The image's layers, bottom first.
  returned: always
  type: list
  elements: dict
  contains:
    digest:
      description: Digest of the (compressed) layer blob; V(null) in check mode for a layer still to be made.
      type: str
    size:
      description: Size of the layer blob in bytes; V(null) as RV(layers[].digest).
      type: int
    media_type:
      description: The layer's media type.
      type: str
    made:
      description: Whether this run made the layer (or would, in check mode).
      type: bool
bytes_made:
  description: Bytes of the layers this run made.
  returned: always
  type: int
actions:
  description: What the task did (or would do in check mode), V(make_layers) and V(push).
  returned: always
  type: list
  elements: str
  sample: [make_layers, push]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.push import PushManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type='str', required=True),
            ref=dict(type='str'),
            tls_verify=dict(type='bool', default=True),
            ca_file=dict(type='path'),
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            auth_file=dict(type='path'),
        ),
        required_together=[('username', 'password')],
        mutually_exclusive=[('username', 'auth_file')],
        supports_check_mode=True,
    )
    run_module(module, PushManager)


if __name__ == '__main__':
    main()
