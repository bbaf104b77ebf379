/**
 * Turns the files of a picked folder into the model's files keyed by path relative to the model folder: the
 * folder holding cobra.json (the user may pick it or a folder above it).
 */

export interface PickedFile {
  /** Path inside the picked folder, including the folder's own name (File.webkitRelativePath). */
  relativePath: string;
  blob: Blob;
}

export function modelFilesFromFolder(picked: readonly PickedFile[]): { path: string; blob: Blob }[] {
  const manifests = picked
    .map((f) => f.relativePath)
    .filter((p) => p === "cobra.json" || p.endsWith("/cobra.json"))
    .sort((a, b) => a.split("/").length - b.split("/").length);
  if (manifests.length === 0)
    throw new Error("The picked folder has no cobra.json: pick the folder written by `cobra convert`.");
  const prefix = manifests[0].slice(0, -"cobra.json".length);
  return picked
    .filter((f) => f.relativePath.startsWith(prefix))
    .map((f) => ({ path: f.relativePath.slice(prefix.length), blob: f.blob }));
}

/** The files of an <input webkitdirectory>. */
export function pickedFromInput(files: FileList): PickedFile[] {
  return Array.from(files, (file) => ({ relativePath: file.webkitRelativePath || file.name, blob: file }));
}
