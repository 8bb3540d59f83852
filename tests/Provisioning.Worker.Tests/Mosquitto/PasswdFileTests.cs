using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class PasswdFileTests
{
    private static readonly string _hashA = MosquittoPasswordHash.Create("a", 1);
    private static readonly string _hashB = MosquittoPasswordHash.Create("b", 1);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Comments_blank_lines_CRLF_and_malformed_lines_render_back_byte_for_byte()
    {
        // Given
        var content = Bytes($"# operators\n\nops:{_hashA}\r\n   \t\n  spaced : {_hashB} \nno separator here\n:{_hashA}\nbad:$7$1$x$y\n#last");
        var withNewline = content.Concat("\n"u8.ToArray()).ToArray();

        // When
        var file = PasswdFile.Parse(withNewline);

        // Then
        Assert.Equal(withNewline, file.Render());
        Assert.Equal(
            [PasswdLineKind.Comment, PasswdLineKind.Blank, PasswdLineKind.User, PasswdLineKind.Blank, PasswdLineKind.User, PasswdLineKind.Malformed, PasswdLineKind.Malformed, PasswdLineKind.User, PasswdLineKind.Comment],
            file.Lines.Select(l => l.Kind));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], file.Lines.Select(l => l.Number));
    }

    [Fact]
    public void A_file_without_a_final_newline_gets_one()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"ops:{_hashA}"));

        // When
        var rendered = file.Render();

        // Then
        Assert.Equal(Bytes($"ops:{_hashA}\n"), rendered);
    }

    [Fact]
    public void Usernames_and_hashes_are_trimmed_as_the_broker_trims_them()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"  spaced : {_hashB} \r\nops:{_hashA}:ignored\n"));

        // When / Then
        Assert.Equal(["spaced", "ops"], file.Usernames);
        Assert.Equal(_hashB, file.GetHash("spaced"));
        Assert.Equal(_hashA, file.GetHash("ops"));
        Assert.True(file.Contains("spaced"));
        Assert.False(file.Contains(" spaced"));
    }

    [Fact]
    public void Malformed_lines_are_kept_and_reported_without_their_content()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"{_hashA}\n:{_hashB}\nnohash:\n\u0001ctl:{_hashA}\n"));

        // When
        var malformed = file.Lines.Where(l => l.Kind == PasswdLineKind.Malformed).ToList();

        // Then
        Assert.Equal([1, 2, 3, 4], malformed.Select(l => l.Number));
        Assert.All(malformed, l => Assert.DoesNotContain("$7$", l.Problem, StringComparison.Ordinal));
        Assert.Contains("\\u0001ctl", malformed[3].Problem, StringComparison.Ordinal);
        Assert.Empty(file.Usernames);
    }

    [Fact]
    public void Invalid_utf8_in_a_username_makes_the_line_malformed_and_kept()
    {
        // Given
        byte[] content = [.. "ok:"u8, .. Bytes(_hashA), (byte)'\n', 0xFF, 0xFE, (byte)':', .. Bytes(_hashB), (byte)'\n'];

        // When
        var file = PasswdFile.Parse(content);

        // Then
        Assert.Equal(PasswdLineKind.Malformed, file.Lines[1].Kind);
        Assert.Contains("UTF-8", file.Lines[1].Problem, StringComparison.Ordinal);
        Assert.Equal(content, file.Render());
    }

    [Fact]
    public void Set_replaces_the_users_line_in_place_and_keeps_every_other_line()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"# head\nops:{_hashA}\r\nother:{_hashA}\n"));

        // When
        file.Set("ops", _hashB);

        // Then
        Assert.Equal(Bytes($"# head\nops:{_hashB}\r\nother:{_hashA}\n"), file.Render());
        Assert.Equal(_hashB, file.GetHash("ops"));
    }

    [Fact]
    public void Set_appends_a_new_user_at_the_end()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"ops:{_hashA}\n"));

        // When
        file.Set("new", _hashB);

        // Then
        Assert.Equal(Bytes($"ops:{_hashA}\nnew:{_hashB}\n"), file.Render());
        Assert.Equal(2, file.Lines[1].Number);
    }

    [Fact]
    public void Set_on_a_duplicated_user_keeps_only_the_first_line()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"dup:{_hashA}\nx:{_hashA}\ndup:{_hashA}\n"));

        // When
        file.Set("dup", _hashB);

        // Then
        Assert.Equal(Bytes($"dup:{_hashB}\nx:{_hashA}\n"), file.Render());
        Assert.Empty(file.Check());
    }

    [Theory]
    [InlineData("a:b")]
    [InlineData("nl\n")]
    [InlineData("")]
    public void Set_refuses_an_illegal_username(string username)
    {
        var file = PasswdFile.Empty();
        Assert.Throws<ArgumentException>(() => file.Set(username, _hashA));
        Assert.Empty(file.Lines);
    }

    [Fact]
    public void Set_refuses_a_malformed_hash_without_echoing_it()
    {
        // Given
        var file = PasswdFile.Empty();

        // When
        var e = Assert.Throws<ArgumentException>(() => file.Set("ops", "$7$1$secretish\nx:y"));

        // Then
        Assert.DoesNotContain("secretish", e.Message, StringComparison.Ordinal);
        Assert.Empty(file.Lines);
    }

    [Fact]
    public void Remove_deletes_every_line_of_the_user_and_renumbers()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"a:{_hashA}\n# c\na:{_hashB}\nb:{_hashB}\n"));

        // When
        var removed = file.Remove("a");
        var removedAgain = file.Remove("a");

        // Then
        Assert.True(removed);
        Assert.False(removedAgain);
        Assert.Equal(Bytes($"# c\nb:{_hashB}\n"), file.Render());
        Assert.Equal([1, 2], file.Lines.Select(l => l.Number));
        Assert.Null(file.GetHash("a"));
    }

    [Fact]
    public void Check_is_empty_for_a_sound_file()
    {
        var file = PasswdFile.Parse(Bytes($"# c\n\na:{_hashA}\nb:{_hashB}\n"));
        Assert.Empty(file.Check());
    }

    [Fact]
    public void Check_reports_duplicates_with_both_line_numbers_and_the_user_but_not_the_hash()
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"a:{_hashA}\nb:{_hashB}\na:{_hashB}\n"));

        // When
        var problems = file.Check();

        // Then
        var problem = Assert.Single(problems);
        Assert.Contains("line 3", problem, StringComparison.Ordinal);
        Assert.Contains("line 1", problem, StringComparison.Ordinal);
        Assert.Contains("\"a\"", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(_hashB.Split('$')[3], problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_reports_empty_usernames()
    {
        var problem = Assert.Single(PasswdFile.Parse(Bytes($"ok:{_hashA}\n  :{_hashA}\n")).Check());
        Assert.Contains("line 2", problem, StringComparison.Ordinal);
        Assert.Contains("empty username", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$7$101$c2hvcnQ=$a2V5")]
    [InlineData("$7$0$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==")]
    [InlineData("plaintextpassword")]
    public void Check_reports_a_bad_hash_naming_line_and_user_but_never_the_hash(string hash)
    {
        // Given
        var file = PasswdFile.Parse(Bytes($"ok:{_hashA}\nbroken:{hash}\n"));

        // When
        var problem = Assert.Single(file.Check());

        // Then
        Assert.Contains("line 2", problem, StringComparison.Ordinal);
        Assert.Contains("\"broken\"", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Line_ToString_never_shows_the_hash()
    {
        var line = PasswdFile.Parse(Bytes($"a:{_hashA}\n")).Lines[0];
        Assert.DoesNotContain(_hashA, line.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_file_has_no_lines_and_renders_empty()
    {
        var file = PasswdFile.Parse([]);
        Assert.Empty(file.Lines);
        Assert.Empty(file.Render());
    }
}
