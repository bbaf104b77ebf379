/** Whether a picked file is an image this browser can show, before it replaces the current one. */
import { describeError } from "@cobra-ts/cobra/worker";

/**
 * Null when the file decodes, else why not. The type alone proves nothing (a renamed text file keeps its
 * image/png type) and an <img> that fails only shows a broken-image icon, so decode it once here.
 */
export async function whyNotAnImage(file: File): Promise<string | null> {
  if (file.type !== "" && !file.type.startsWith("image/"))
    return `${file.name} is not an image (${file.type}).`;
  try {
    const bitmap = await createImageBitmap(file);
    bitmap.close();
    return null;
  } catch (error) {
    const detail = describeError(error).message.replace(/\.$/, "");
    return `${file.name} is not an image this browser can decode (${detail}).`;
  }
}
