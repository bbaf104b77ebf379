import { useEffect, useState } from "react";
import { ChatPanel } from "./components/ChatPanel";
import { ImagePanel, type PickedImage } from "./components/ImagePanel";
import { ModelPanel } from "./components/ModelPanel";
import { useChat } from "./hooks/useChat";
import { useModel } from "./hooks/useModel";
import { useStorage } from "./hooks/useStorage";
import { useWebGpu } from "./hooks/useWebGpu";

export function App() {
  const webgpu = useWebGpu();
  const storage = useStorage();
  const model = useModel();
  const [image, setImage] = useState<PickedImage | null>(null);
  const chat = useChat(model.client, image?.blob ?? null);
  useIgnoreStrayDrops();
  const blocked = !model.client ? "Load a model first." : !image ? "Add an image first." : null;

  return (
    <div className="app">
      <header>
        <h1>Cobra playground</h1>
        <p className="hint">
          A Mamba vision-language model running entirely in this browser, in a Web Worker ·{" "}
          <span data-testid="isolation" data-isolated={String(crossOriginIsolated)}>
            {crossOriginIsolated
              ? "cross-origin isolated (WASM threads available)"
              : "not cross-origin isolated (WASM single-threaded)"}
          </span>
        </p>
      </header>
      <main>
        <div className="column">
          <ModelPanel model={model} webgpu={webgpu} storage={storage} />
          <ImagePanel
            image={image}
            onImage={setImage}
            phase={chat.imagePhase}
            ms={chat.imageMs}
            error={chat.imageError}
          />
        </div>
        <ChatPanel chat={chat} blocked={blocked} />
      </main>
    </div>
  );
}

/** A file dropped next to the drop zone would make the browser open it, leaving the page and its model. */
function useIgnoreStrayDrops(): void {
  useEffect(() => {
    const ignore = (event: DragEvent) => event.preventDefault();
    window.addEventListener("dragover", ignore);
    window.addEventListener("drop", ignore);
    return () => {
      window.removeEventListener("dragover", ignore);
      window.removeEventListener("drop", ignore);
    };
  }, []);
}
