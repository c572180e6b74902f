package dev.shepherd.proxy;

/**
 * Whether a path's {@code ..} segments climb above its root, as nginx refuses such a request with {@code 400}: a worker
 * that joins the path to a directory ({@code path.join(root, req.url)}, a naive static file server) would serve
 * {@code /../../etc/passwd} from outside it. Dots and slashes written percent-encoded ({@code %2e}, {@code %2f}) count
 * as themselves, since the worker may decode them before it joins (nginx decodes them too); an empty segment
 * ({@code //}) and {@code .} stay where they are. A path that climbs back down within its root ({@code /a/../b}) is
 * forwarded as it came. Stateless; allocates nothing.
 */
final class DotSegments {

    private DotSegments() {
    }

    /** Whether {@code path}, up to {@code end}, climbs above its root (RFC 3986 §5.2.4's remove_dot_segments). */
    static boolean climbsAboveRoot(String path, int end) {
        int depth = 0;
        int dots = 0;
        boolean other = false;
        for (int i = 0; i <= end; i++) {
            int length = 1;
            char c = i == end ? '/' : path.charAt(i);
            if (c == '%' && i + 2 < end) {
                char decoded = decoded(path.charAt(i + 1), path.charAt(i + 2));
                if (decoded == '.' || decoded == '/') {
                    c = decoded;
                    length = 3;
                }
            }
            if (c == '/') {
                if (dots == 2 && !other) {
                    if (--depth < 0) {
                        return true;
                    }
                } else if (other || dots > 2) {
                    depth++;
                }
                dots = 0;
                other = false;
            } else if (c == '.') {
                dots++;
            } else {
                other = true;
            }
            i += length - 1;
        }
        return false;
    }

    /** The character {@code %hl} encodes when it is a dot or a slash; else a space, which is neither. */
    private static char decoded(char high, char low) {
        if (high != '2') {
            return ' ';
        }
        return low == 'e' || low == 'E' ? '.' : low == 'f' || low == 'F' ? '/' : ' ';
    }
}
