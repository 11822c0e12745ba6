// Export: a figure as PNG on a white background (pixel heatmaps scaled up
// without smoothing), and data as CSV or JSON; the state goes in the name.

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A copy of canvas on white, at least `minSize` pixels wide for small pixel maps. */
export function whiteCopy(canvas, minSize = 512) {
  const factor = canvas.width < minSize ? Math.ceil(minSize / canvas.width) : 1;
  const out = document.createElement('canvas');
  out.width = canvas.width * factor;
  out.height = canvas.height * factor;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  return out;
}

export function savePNG(canvas, name) {
  whiteCopy(canvas, canvas.dataset.kind === 'chart' ? 0 : 512).toBlob((blob) => download(blob, `${name}.png`), 'image/png');
}

export function saveText(text, name, type) {
  download(new Blob([text], { type }), name);
}
