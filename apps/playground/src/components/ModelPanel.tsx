import { type Backend, describeError } from "@cobra-ts/cobra/worker";
import { type ChangeEvent, type FormEvent, useEffect, useRef, useState } from "react";
import type { ModelControls } from "../hooks/useModel";
import type { useStorage } from "../hooks/useStorage";
import { modelFilesFromFolder, pickedFromInput } from "../lib/folder";
import type { WebGpuSupport } from "../lib/webgpu";
import { BackendPicker } from "./BackendPicker";
import { FileProgressList } from "./FileProgressList";
import { ModelStatus } from "./ModelStatus";
import { Notices } from "./Notices";
import { StorageLine } from "./StorageLine";

/** Where `npm run dev:model` puts the tiny fixture model (served by the dev and preview servers). */
const DEFAULT_MODEL_URL = "/models/cobra-tiny/";

interface Props {
  model: ModelControls;
  webgpu: WebGpuSupport | null;
  storage: ReturnType<typeof useStorage>;
}

/** `?model=…&backend=webgpu` prefill the form (handy for links and bookmarks). */
function queryParam(name: string): string | null {
  return new URLSearchParams(location.search).get(name);
}

export function ModelPanel({ model, webgpu, storage }: Props) {
  const [url, setUrl] = useState(() => queryParam("model") ?? DEFAULT_MODEL_URL);
  const [backend, setBackend] = useState<Backend>(() =>
    queryParam("backend") === "webgpu" ? "webgpu" : "wasm",
  );
  const [folderError, setFolderError] = useState<string | null>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const loading = model.state.phase === "loading";

  useEffect(() => {
    // React has no typed prop for it; the property makes the picker choose a folder.
    if (folderInput.current) folderInput.current.webkitdirectory = true;
  }, []);

  const loadUrl = (event: FormEvent) => {
    event.preventDefault();
    setFolderError(null);
    model.load({ kind: "url", url }, backend).then(storage.refresh);
  };

  const loadFolder = (event: ChangeEvent<HTMLInputElement>) => {
    const files = event.target.files;
    if (!files || files.length === 0) return;
    try {
      setFolderError(null);
      model.load({ kind: "files", files: modelFilesFromFolder(pickedFromInput(files)) }, backend);
    } catch (error) {
      setFolderError(describeError(error).message);
    }
    event.target.value = ""; // picking the same folder again must fire again
  };

  return (
    <section className="panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      <form className="row" onSubmit={loadUrl}>
        <label className="grow">
          URL{" "}
          <input
            data-testid="model-url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://…/cobra-3b/"
            spellCheck={false}
          />
        </label>
        <button type="submit" data-testid="load-model" disabled={loading || url.trim() === ""}>
          Load
        </button>
        <label className={`button${loading ? " disabled" : ""}`}>
          Pick folder…
          <input
            ref={folderInput}
            type="file"
            hidden
            disabled={loading}
            onChange={loadFolder}
            data-testid="model-folder"
          />
        </label>
      </form>
      {folderError && (
        <p className="error" role="alert">
          {folderError}
        </p>
      )}
      <BackendPicker value={backend} onChange={setBackend} webgpu={webgpu} disabled={loading} />
      <ModelStatus state={model.state} onStop={model.stop} />
      <Notices notices={model.state.notices} />
      <FileProgressList files={model.state.files} />
      <StorageLine estimate={storage.estimate} onClear={storage.clear} disabled={loading} />
    </section>
  );
}
