/**
 * The default profile image of a user, as Mattermost draws it (app/users/profile_picture.go
 * createProfileImage): 128×128, filled with a colour from its palette chosen by the FNV-1a
 * hash of the user id. Mattermost also draws the username's initial in a bundled TrueType
 * font; Switchboard ships no font, so the image is the plain colour. Encoded once per colour.
 */
import { PNG } from "pngjs";

const SIZE = 128;

const PALETTE: readonly (readonly [number, number, number])[] = [
  [197, 8, 126],
  [227, 207, 18],
  [28, 181, 105],
  [35, 188, 224],
  [116, 49, 196],
  [197, 8, 126],
  [197, 19, 19],
  [250, 134, 6],
  [227, 207, 18],
  [123, 201, 71],
  [28, 181, 105],
  [35, 188, 224],
  [116, 49, 196],
  [197, 8, 126],
  [197, 19, 19],
  [250, 134, 6],
  [227, 207, 18],
  [123, 201, 71],
  [28, 181, 105],
  [35, 188, 224],
  [116, 49, 196],
  [197, 8, 126],
  [197, 19, 19],
  [250, 134, 6],
  [227, 207, 18],
  [123, 201, 71],
];

const encoded = new Map<string, Buffer>();

/** FNV-1a, 32 bits, over the id's bytes (Go's hash/fnv New32a). */
function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The palette colour of a user id. */
export function profileColor(userId: string): readonly [number, number, number] {
  return PALETTE[fnv1a32(userId) % PALETTE.length]!;
}

/** The PNG bytes of the user's default image. */
export function defaultProfileImage(userId: string): Buffer {
  const [r, g, b] = profileColor(userId);
  const key = `${r},${g},${b}`;
  let png = encoded.get(key);
  if (!png) {
    const img = new PNG({ width: SIZE, height: SIZE, colorType: 2 });
    for (let i = 0; i < img.data.length; i += 4) {
      img.data[i] = r;
      img.data[i + 1] = g;
      img.data[i + 2] = b;
      img.data[i + 3] = 255;
    }
    png = PNG.sync.write(img, { colorType: 2 });
    encoded.set(key, png);
  }
  return png;
}
