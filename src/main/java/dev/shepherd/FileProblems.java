package dev.shepherd;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** What went wrong with a file, in words for a message that names the file already. */
public final class FileProblems {

    private FileProblems() {
    }

    /**
     * The reason of {@code ex} without the path and without a class name: "permission denied", "no such file or
     * directory", the system's reason ("Is a directory"), else the exception's message.
     */
    public static String reason(IOException ex) {
        if (ex instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (ex instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (ex instanceof FileSystemException fileSystem && fileSystem.getReason() != null) {
            return fileSystem.getReason();
        }
        return String.valueOf(ex.getMessage());
    }
}
