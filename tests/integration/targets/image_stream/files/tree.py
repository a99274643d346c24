"""Print a tree as sorted lines: path, type, mode, uid, gid, size, sha256 or link target. Equal output, equal trees."""
import hashlib
import os
import stat
import sys

root = sys.argv[1]
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames + filenames):
        path = os.path.join(dirpath, name)
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            with open(path, 'rb') as handle:
                what = hashlib.sha256(handle.read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            what = os.readlink(path)
        else:
            what = ''
        print(os.path.relpath(path, root), oct(st.st_mode), st.st_uid, st.st_gid,
              st.st_size if stat.S_ISREG(st.st_mode) else 0, what)
