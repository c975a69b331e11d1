import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

/** Props of `MimeView`. */
export interface IMimeViewProps {
  rendermime: IRenderMimeRegistry;
  /** A MIME bundle (`{ 'text/markdown': … }`, an output's `data`). */
  data: IRenderMime.IMimeModel['data'];
  metadata?: IRenderMime.IMimeModel['metadata'];
  className?: string;
}

/**
 * A MIME bundle rendered by the application's rendermime registry, untrusted (model text and kernel outputs
 * are sanitized as in an untrusted notebook). The renderer is kept while the MIME type stays the same, so
 * streamed markdown re-renders in place.
 */
export function MimeView(props: IMimeViewProps): JSX.Element {
  const { rendermime, data, metadata, className } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const renderer = React.useRef<{ mime: string; widget: IRenderMime.IRenderer } | null>(null);

  React.useEffect(() => {
    const node = host.current;
    const mime = rendermime.preferredMimeType(data, 'any');
    if (!node || !mime) {
      return;
    }
    if (renderer.current?.mime !== mime) {
      disposeRenderer(renderer.current?.widget);
      const widget = rendermime.createRenderer(mime);
      renderer.current = { mime, widget };
      // Rendermime's renderers draw into their node without needing Lumino's attach messages (as in a cell).
      node.appendChild(widget.node);
    }
    const model = rendermime.createModel({ data, metadata: metadata ?? {}, trusted: false });
    void renderer.current.widget.renderModel(model).catch(error => {
      node.textContent = String(error);
    });
  }, [rendermime, data, metadata]);

  React.useEffect(
    () => () => {
      disposeRenderer(renderer.current?.widget);
      renderer.current = null;
    },
    []
  );

  return <div ref={host} className={className} />;
}

function disposeRenderer(widget: Widget | undefined): void {
  widget?.node.remove();
  widget?.dispose();
}

/** Markdown text rendered by rendermime. */
export function Markdown(props: { rendermime: IRenderMimeRegistry; text: string; className?: string }): JSX.Element {
  const data = React.useMemo(() => ({ 'text/markdown': props.text }), [props.text]);
  return <MimeView rendermime={props.rendermime} data={data} className={props.className} />;
}
