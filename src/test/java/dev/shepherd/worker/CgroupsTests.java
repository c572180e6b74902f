package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CgroupsTests {

    private static final String V1_MEMORY = "35 31 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory";

    @Test
    void hybridHierarchyIsFoundUnderTheUnifiedMount() {
        assertThat(Cgroups.locate(List.of("4:memory:/x", "0::/"),
                List.of(V1_MEMORY, "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw")))
                .contains(Path.of("/sys/fs/cgroup/unified"));
    }

    @Test
    void systemdServiceIsFoundBelowTheV2Mount() {
        assertThat(Cgroups.locate(List.of("0::/system.slice/shepherd.service"),
                List.of("30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate")))
                .contains(Path.of("/sys/fs/cgroup/system.slice/shepherd.service"));
    }

    @Test
    void containerWithItsOwnCgroupNamespaceIsAtTheMountItself() {
        assertThat(Cgroups.locate(List.of("0::/"),
                List.of("612 598 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw")))
                .contains(Path.of("/sys/fs/cgroup"));
    }

    @Test
    void bindMountOfAGroupIsResolvedFromItsRoot() {
        assertThat(Cgroups.locate(List.of("0::/docker/abc/app"),
                List.of("612 598 0:30 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup rw")))
                .contains(Path.of("/sys/fs/cgroup/app"));
    }

    @Test
    void groupOutsideTheMountedSubtreeIsNotUsed() {
        assertThat(Cgroups.locate(List.of("0::/docker/other"),
                List.of("612 598 0:30 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup rw"))).isEmpty();
        assertThat(Cgroups.locate(List.of("0::/docker/abcdef"),
                List.of("612 598 0:30 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup rw"))).isEmpty();
    }

    @Test
    void noV2MountOrNoV2LineMeansNoCgroups() {
        assertThat(Cgroups.locate(List.of("4:memory:/x"), List.of(V1_MEMORY))).isEmpty();
        assertThat(Cgroups.locate(List.of("0::/"), List.of(V1_MEMORY))).isEmpty();
        assertThat(Cgroups.locate(List.of("0::/../escaped"),
                List.of("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"))).isEmpty();
    }
}
