// Saving a value as a file from the page (flow export, node output download).

/** A file name from a title: letters, digits, dashes; never empty. */
export function fileSlug(title: string, fallback = "flow"): string {
  const slug = title
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return slug || fallback;
}

/** Offers `value` as a download: strings as they are, anything else as indented JSON. */
export function download(name: string, value: unknown, type = "application/json"): void {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
