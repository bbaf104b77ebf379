import { type DragEvent, useEffect, useRef, useState } from "react";
import type { ImagePhase } from "../hooks/useChat";
import { formatMs } from "../lib/format";
import { whyNotAnImage } from "../lib/image-check";

export interface PickedImage {
  blob: Blob;
  name: string;
}

interface Props {
  image: PickedImage | null;
  onImage(image: PickedImage): void;
  phase: ImagePhase;
  ms: number | null;
  error: string | null;
}

/** Drop or pick an image; shows its preview and whether the model has encoded it. */
export function ImagePanel({ image, onImage, phase, ms, error }: Props) {
  const [dragging, setDragging] = useState(false);
  const [rejected, setRejected] = useState<string | null>(null);
  const previewUrl = useObjectUrl(image?.blob ?? null);
  const latestPick = useRef(0);

  // A file that does not decode never replaces the current image (nor clears its chat).
  const accept = async (file: File | undefined) => {
    if (!file) return;
    const pick = ++latestPick.current;
    const reason = await whyNotAnImage(file);
    if (pick !== latestPick.current) return; // a later pick decides
    setRejected(reason && (image ? `${reason} Still using ${image.name}.` : reason));
    if (!reason) onImage({ blob: file, name: file.name });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void accept(event.dataTransfer.files[0]);
  };

  return (
    <section className="panel" aria-labelledby="image-heading">
      <h2 id="image-heading">Image</h2>
      {rejected && <ImageError message={rejected} />}
      <label
        className={`drop${dragging ? " dragging" : ""}`}
        data-testid="image-drop"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        {previewUrl ? (
          <img src={previewUrl} alt={image?.name ?? "the chosen image"} data-testid="image-preview" />
        ) : (
          <span>Drop an image here, or click to choose one</span>
        )}
        <input
          type="file"
          accept="image/*"
          hidden
          data-testid="image-input"
          onChange={(event) => {
            void accept(event.target.files?.[0]);
            event.target.value = "";
          }}
        />
      </label>

      <p className="hint" data-testid="image-status" data-phase={phase}>
        {image ? `${image.name} · ` : ""}
        {phase === "none" && (image ? "waiting for a model" : "no image yet")}
        {phase === "encoding" && "encoding the image…"}
        {phase === "ready" && `encoded and prefilled once in ${formatMs(ms ?? 0)}; reused by every question`}
        {phase === "stopped" && "encoding stopped; it restarts with the next question"}
        {phase === "failed" && <span className="error">{error}</span>}
      </p>
    </section>
  );
}

/** Above the drop zone, where the eyes are after a drop, and scrolled into view if the column hides it. */
function ImageError({ message }: { message: string }) {
  const ref = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (message) ref.current?.scrollIntoView({ block: "nearest" });
  }, [message]);
  return (
    <p className="error" role="alert" data-testid="image-error" ref={ref}>
      {message}
    </p>
  );
}

/** An object URL for a blob, revoked when the blob changes or the component goes away. */
function useObjectUrl(blob: Blob | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) {
      setUrl(null);
      return;
    }
    const objectUrl = URL.createObjectURL(blob);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [blob]);
  return url;
}
