// This process's descendants and their memory, read from /proc (Linux): the browser tools measure the Chromium
// they started this way, without counting anyone else's.
import { readdirSync, readFileSync } from "node:fs";

/** The pids of every process below this one (children, their children, ...). */
export function descendantPids() {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so parse after its ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {} // gone meanwhile
  }
  const found = [];
  for (const todo = [...(children.get(process.pid) ?? [])]; todo.length; ) {
    const pid = todo.pop();
    found.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** A "<field>: <n> kB" line of /proc/<pid>/<file> (status, smaps_rollup), in bytes; 0 where it is absent. */
export function procBytes(pid, file, field) {
  const text = readFileSync(`/proc/${pid}/${file}`, "utf8");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
}
