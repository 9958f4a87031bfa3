// The one font file the PNG figures are drawn with (Debian's fonts-dejavu-core); system fonts are never loaded.
export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
export const FONT_FAMILY = 'DejaVu Sans';
