// podman's settings for this machine kind, under the tree's .tmp/containers/ (ignored by git):
// runc (crun refuses hybrid cgroups), ulimits it may set without CAP_SYS_RESOURCE, cgroupfs (no
// systemd), and image storage of the tree's own. Returns CONTAINERS_CONF/CONTAINERS_STORAGE_CONF.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function containersEnv(root) {
  const dir = join(root, ".tmp/containers");
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, "containers.conf");
  const storage = join(dir, "storage.conf");
  writeFileSync(
    conf,
    [
      "[containers]",
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      "",
    ].join("\n"),
  );
  writeFileSync(storage, ["[storage]", 'driver = "overlay"', `graphroot = "${join(dir, "storage")}"`, `runroot = "${join(dir, "run")}"`, ""].join("\n"));
  return { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
}
